import { open, type FileHandle } from 'node:fs/promises';

/** errno codes that mean "no room" (disk full, quota reached): retrying after space is freed can succeed. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** True when the error is the disk saying it has no room (ENOSPC, EDQUOT). */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && NO_SPACE_CODES.has(code);
}

function noSpace(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ENOSPC' });
}

/** The part of FileHandle that writeFully uses (a test can stand in for it). */
export type WritableHandle = Pick<FileHandle, 'write'>;

/**
 * Writes all of `chunk`. FileHandle.write makes one write(2) call: on a disk that fills up mid-chunk it resolves
 * with fewer bytes written and no error, and only the next call fails with ENOSPC; a caller that ignores
 * bytesWritten keeps a silently truncated file (which later reads as "cannot understand"). So loop until the
 * whole chunk is down; a write that makes no progress is taken as the disk being full.
 */
export async function writeFully(fh: WritableHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    if (bytesWritten <= 0) throw noSpace(`write made no progress with ${chunk.length - offset} bytes left`);
    offset += bytesWritten;
  }
}

/** The error for a file found shorter than what was written to it: some bytes never reached the disk. */
export function shortFileError(expected: number, actual: number): NodeJS.ErrnoException {
  return noSpace(`the file holds ${actual} of the ${expected} bytes written to it`);
}

/** Flushes a file (flags 'r+') or a folder's entries (flags 'r') to the disk: a rename is durable only after both. */
export async function fsyncPath(p: string, flags: 'r' | 'r+'): Promise<void> {
  const fh = await open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
