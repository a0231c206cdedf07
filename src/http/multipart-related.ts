import { AppError } from '../domain/errors';

/** A parsed media type: lower-cased type/subtype and its parameters (names lower-cased, quotes removed). */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Parses a Content-Type header value (RFC 7231 media-type with quoted-string parameters). */
export function parseMediaType(header: string): MediaType {
  const semi = header.indexOf(';');
  const type = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let rest = semi < 0 ? '' : header.slice(semi + 1);
  const param = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))\s*(?:;|$)/;
  while (rest.trim() !== '') {
    const m = param.exec(rest);
    if (!m) break; // a malformed tail: keep what was understood; the caller checks what it needs
    const name = (m[1] ?? '').toLowerCase();
    params[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    rest = rest.slice(m[0].length);
  }
  return { type, params };
}

/** Receives one part's body; write() may return a promise to slow the reader down (backpressure). */
export interface PartSink {
  write(chunk: Buffer): void | Promise<void>;
  /** The part ended at its delimiter. */
  end(): Promise<void>;
  /** The body ended early or was refused: release whatever the sink holds. */
  abort(): Promise<void>;
}

export interface MultipartLimits {
  /** Whole body (bytes); past it the parse stops with TOO_LARGE. */
  maxBodyBytes: number;
  /** Headers of one part (bytes). */
  maxHeaderBytes?: number;
  /** Bytes before the first delimiter (preamble). */
  maxPreambleBytes?: number;
  maxParts?: number;
}

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'epilogue';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new AppError('BAD_REQUEST', 'multipart body has a part header line without a name');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * Streaming parser for a multipart body (RFC 2046 §5.1) such as STOW-RS's multipart/related: bodies go to the sink
 * of each part as they arrive, so an instance of any size is never held in memory whole. Only a short tail (the
 * delimiter length) is kept between chunks. Malformed bodies fail with BAD_REQUEST, oversized ones with TOO_LARGE.
 * Returns the number of parts.
 */
export async function parseMultipart(
  body: AsyncIterable<Buffer | Uint8Array | string>,
  boundary: string,
  onPart: (headers: Record<string, string>, index: number) => PartSink | Promise<PartSink>,
  limits: MultipartLimits,
): Promise<number> {
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary) || boundary.endsWith(' ')) {
    throw new AppError('BAD_REQUEST', 'multipart boundary is not valid (1 to 70 characters from the RFC 2046 set)');
  }
  const maxHeaderBytes = limits.maxHeaderBytes ?? 16 * 1024;
  const maxPreambleBytes = limits.maxPreambleBytes ?? 64 * 1024;
  const maxParts = limits.maxParts ?? 100_000;
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const keep = delimiter.length - 1;

  // A leading CRLF lets the first delimiter (which may start the body without one) match like the others.
  let buf: Buffer = Buffer.from(CRLF);
  let state: State = 'preamble';
  let preambleSeen = 0;
  let total = 0;
  let parts = 0;
  let sink: PartSink | undefined;
  // step() changes the state inside a closure, which the compiler's narrowing does not see.
  const stateNow = (): State => state;

  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          const drop = Math.max(0, buf.length - keep);
          preambleSeen += drop;
          if (preambleSeen > maxPreambleBytes) throw new AppError('BAD_REQUEST', `multipart body has no delimiter "--${boundary}" in its first ${maxPreambleBytes} bytes`);
          buf = buf.subarray(drop);
          return false;
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'epilogue';
          buf = Buffer.alloc(0);
          return false;
        }
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 256) throw new AppError('BAD_REQUEST', 'multipart delimiter line is not followed by a line break');
          return false;
        }
        // Only transport padding (spaces, tabs) may follow a delimiter on its line.
        if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString('latin1'))) throw new AppError('BAD_REQUEST', 'multipart delimiter line has unexpected characters after the boundary');
        buf = buf.subarray(eol + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        let headerBlock: string;
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          headerBlock = '';
          buf = buf.subarray(2);
        } else {
          const end = buf.indexOf(HEADER_END);
          if (end < 0) {
            if (buf.length > maxHeaderBytes) throw new AppError('BAD_REQUEST', `multipart part headers exceed ${maxHeaderBytes} bytes`);
            return false;
          }
          headerBlock = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + HEADER_END.length);
        }
        parts++;
        if (parts > maxParts) throw new AppError('TOO_LARGE', `multipart body has more than ${maxParts} parts`);
        sink = await onPart(parseHeaders(headerBlock), parts - 1);
        state = 'body';
        return true;
      }
      case 'body': {
        const at = buf.indexOf(delimiter);
        const current = sink as PartSink;
        if (at < 0) {
          const upto = Math.max(0, buf.length - keep);
          if (upto > 0) {
            await current.write(buf.subarray(0, upto));
            buf = buf.subarray(upto);
          }
          return false;
        }
        if (at > 0) await current.write(buf.subarray(0, at));
        buf = buf.subarray(at + delimiter.length);
        sink = undefined;
        await current.end();
        state = 'after-delimiter';
        return true;
      }
      case 'epilogue':
        buf = Buffer.alloc(0);
        return false;
    }
  };

  try {
    for await (const raw of body) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      total += chunk.length;
      if (total > limits.maxBodyBytes) throw new AppError('TOO_LARGE', `request body exceeds the limit of ${limits.maxBodyBytes} bytes`);
      if (stateNow() === 'epilogue') continue;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (await step()) {
        /* keep consuming what the buffer holds */
      }
    }
    const final = stateNow();
    if (final !== 'epilogue') {
      if (parts === 0 && final === 'preamble') throw new AppError('BAD_REQUEST', `multipart body has no part delimited by "--${boundary}"`);
      // details.truncated: callers that keep parts (STOW-RS) know the request was cut short, not malformed.
      throw new AppError('BAD_REQUEST', 'multipart body ended before its closing delimiter', { details: { truncated: true } });
    }
    return parts;
  } catch (err) {
    const open = sink;
    sink = undefined;
    await open?.abort();
    throw err;
  }
}
