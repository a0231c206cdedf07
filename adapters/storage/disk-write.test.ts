import { isOutOfSpace, shortFileError, writeFully, type WritableHandle } from './disk-write';

/** A file handle on a disk with `room` bytes left: like write(2), a write that does not fit is cut short, the next one fails. */
function diskWith(room: number): { fh: WritableHandle; written: () => number } {
  let used = 0;
  const fh = {
    write: async (buf: Uint8Array, offset = 0, length = buf.length - offset) => {
      if (used >= room) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(length, room - used);
      used += n;
      return { bytesWritten: n, buffer: buf };
    },
  } as unknown as WritableHandle;
  return { fh, written: () => used };
}

describe('writeFully', () => {
  it('when the chunk fits, then every byte is written', async () => {
    const disk = diskWith(1000);
    await writeFully(disk.fh, new Uint8Array(600));
    expect(disk.written()).toBe(600);
  });

  it('when the disk fills mid-chunk (a short write without error), then it fails with ENOSPC instead of leaving a truncated file', async () => {
    const disk = diskWith(1000);
    await writeFully(disk.fh, new Uint8Array(600));
    const err = await writeFully(disk.fh, new Uint8Array(600)).catch((e: unknown) => e);
    expect(disk.written()).toBe(1000);
    expect(isOutOfSpace(err)).toBe(true);
  });

  it('when a write makes no progress without an error, then it is taken as a full disk', async () => {
    const stuck = { write: async () => ({ bytesWritten: 0 }) } as unknown as WritableHandle;
    expect(isOutOfSpace(await writeFully(stuck, new Uint8Array(10)).catch((e: unknown) => e))).toBe(true);
  });
});

describe('isOutOfSpace', () => {
  it.each([
    ['ENOSPC', true],
    ['EDQUOT', true],
    ['EACCES', false],
    ['EIO', false],
    [undefined, false],
  ])('when the error code is %s, then %s', (code, expected) => {
    expect(isOutOfSpace(code === undefined ? new Error('x') : Object.assign(new Error('x'), { code }))).toBe(expected);
  });

  it('when a file is shorter than what was written, then that counts as out of space', () => {
    expect(isOutOfSpace(shortFileError(100, 60))).toBe(true);
    expect(shortFileError(100, 60).message).toBe('the file holds 60 of the 100 bytes written to it');
  });
});
