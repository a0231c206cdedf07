import { AppError } from '../domain/errors';
import { parseMediaType, parseMultipart, type PartSink } from './multipart-related';

interface Collected {
  headers: Record<string, string>;
  body: Buffer;
  ended: boolean;
  aborted: boolean;
}

async function collect(chunks: (Buffer | string)[], boundary: string, maxBodyBytes = 1 << 20): Promise<{ parts: Collected[]; count: number }> {
  const parts: Collected[] = [];
  const count = await parseMultipart(
    (async function* () {
      for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    })(),
    boundary,
    (headers): PartSink => {
      const p: Collected = { headers, body: Buffer.alloc(0), ended: false, aborted: false };
      parts.push(p);
      return {
        write: (chunk) => void (p.body = Buffer.concat([p.body, chunk])),
        end: async () => void (p.ended = true),
        abort: async () => void (p.aborted = true),
      };
    },
    { maxBodyBytes },
  );
  return { parts, count };
}

async function failure(chunks: (Buffer | string)[], boundary: string, maxBodyBytes?: number): Promise<{ err: AppError; parts: Collected[] }> {
  const parts: Collected[] = [];
  try {
    await parseMultipart(
      (async function* () {
        for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
      })(),
      boundary,
      (headers) => {
        const p: Collected = { headers, body: Buffer.alloc(0), ended: false, aborted: false };
        parts.push(p);
        return { write: () => undefined, end: async () => void (p.ended = true), abort: async () => void (p.aborted = true) };
      },
      { maxBodyBytes: maxBodyBytes ?? 1 << 20 },
    );
  } catch (err) {
    return { err: err as AppError, parts };
  }
  throw new Error('expected the parse to fail');
}

const binary = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x & 0xff;
  }
  return b;
};

describe('parseMediaType', () => {
  it('when parameters are quoted, unquoted and oddly cased, then names are lower-cased and quotes removed', () => {
    expect(parseMediaType('Multipart/Related; Type="application/dicom"; boundary=abc;start="<x>"')).toEqual({
      type: 'multipart/related',
      params: { type: 'application/dicom', boundary: 'abc', start: '<x>' },
    });
  });
  it('when a quoted value holds a semicolon or an escaped quote, then it is kept inside the value', () => {
    expect(parseMediaType('multipart/related; boundary="a;b\\"c"').params.boundary).toBe('a;b"c');
  });
});

describe('parseMultipart', () => {
  const boundary = 'XbOuNdArY-42';
  const a = binary(1000, 1);
  const b = binary(3, 2);
  const body = Buffer.concat([
    Buffer.from(`preamble text\r\n--${boundary}\r\nContent-Type: application/dicom\r\nContent-ID: <a>\r\n\r\n`),
    a,
    Buffer.from(`\r\n--${boundary}  \r\ncontent-type: application/dicom\r\n\r\n`),
    b,
    Buffer.from(`\r\n--${boundary}--\r\nepilogue`),
  ]);

  it('when the body arrives whole, then each part has its headers and exact bytes', async () => {
    const { parts, count } = await collect([body], boundary);
    expect(count).toBe(2);
    expect(parts.map((p) => p.headers['content-type'])).toEqual(['application/dicom', 'application/dicom']);
    expect(parts[0]?.headers['content-id']).toBe('<a>');
    expect(parts[0]?.body.equals(a)).toBe(true);
    expect(parts[1]?.body.equals(b)).toBe(true);
    expect(parts.every((p) => p.ended && !p.aborted)).toBe(true);
  });

  it('when the body is cut into two chunks at every possible position, then the parts are always the same', async () => {
    for (let i = 1; i < body.length; i += 7) {
      const { parts } = await collect([body.subarray(0, i), body.subarray(i)], boundary);
      expect(parts).toHaveLength(2);
      expect(parts[0]?.body.equals(a)).toBe(true);
      expect(parts[1]?.body.equals(b)).toBe(true);
    }
  });

  it('when the body arrives one byte at a time, then the parts are the same', async () => {
    const chunks = [...body].map((x) => Buffer.from([x]));
    const { parts } = await collect(chunks, boundary);
    expect(parts[0]?.body.equals(a)).toBe(true);
    expect(parts[1]?.body.equals(b)).toBe(true);
  });

  it('when the first delimiter starts the body and a part has no headers, then it parses with empty headers', async () => {
    const { parts } = await collect([`--${boundary}\r\n\r\nhello\r\n--${boundary}--`], boundary);
    expect(parts).toHaveLength(1);
    expect(parts[0]?.headers).toEqual({});
    expect(parts[0]?.body.toString()).toBe('hello');
  });

  it('when the closing delimiter is missing, then BAD_REQUEST says the body ended early and the open part is aborted', async () => {
    const { err, parts } = await failure([`--${boundary}\r\n\r\nhello`], boundary);
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toMatch(/ended before its closing delimiter/);
    expect(err.details).toEqual({ truncated: true });
    expect(parts[0]?.aborted).toBe(true);
  });

  it('when the boundary never occurs, then BAD_REQUEST names the boundary', async () => {
    const { err } = await failure(['just some bytes'], boundary);
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toContain(`no part delimited by "--${boundary}"`);
  });

  it('when the body exceeds the limit, then TOO_LARGE (413) and the open part is aborted', async () => {
    const { err, parts } = await failure([`--${boundary}\r\n\r\n`, binary(500, 3), binary(600, 4)], boundary, 1000);
    expect(err.code).toBe('TOO_LARGE');
    expect(err.httpStatus).toBe(413);
    expect(parts[0]?.aborted).toBe(true);
  });

  it('when part headers never end, then BAD_REQUEST about the header size', async () => {
    const { err } = await failure([`--${boundary}\r\nX-Long: ${'a'.repeat(20_000)}`], boundary);
    expect(err.message).toMatch(/headers exceed/);
  });

  it('when a header line has no name, then BAD_REQUEST', async () => {
    const { err } = await failure([`--${boundary}\r\nno colon here\r\n\r\nx\r\n--${boundary}--`], boundary);
    expect(err.message).toMatch(/header line without a name/);
  });

  it('when the boundary has characters RFC 2046 does not allow, then BAD_REQUEST before reading', async () => {
    const { err } = await failure([''], 'bad"boundary');
    expect(err.message).toMatch(/boundary is not valid/);
  });
});
