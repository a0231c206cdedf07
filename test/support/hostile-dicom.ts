import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { constants, createDeflateRaw } from 'node:zlib';
import { IMPLEMENTATION, readPart10, writePart10 } from '../../src/dicom/part10';

/** Hostile DICOM inputs built on the fly from the sample series (too big, or too easy to build, to commit). */

const SAMPLE = path.join(__dirname, '..', 'fixtures', 'sample-mr', 'dicom', 'IM0001.dcm');
export const HOSTILE_DIR = path.join(__dirname, '..', 'fixtures', 'hostile');

/** The committed regression fixtures: files the fuzzer found that crashed or hung the parser (see its README). */
export function hostileFixtures(): { name: string; path: string }[] {
  return readdirSync(HOSTILE_DIR)
    .filter((f) => f.endsWith('.dcm'))
    .sort()
    .map((f) => ({ name: f, path: path.join(HOSTILE_DIR, f) }));
}

export function sampleFile(): Uint8Array {
  return new Uint8Array(readFileSync(SAMPLE));
}

/** A sample slice whose header claims 65535 × 65535 × 65535 voxels (about 2.8e14) over its 32 KB of pixels. */
export function hugeHeaderFile(): Uint8Array {
  const ds = readPart10(sampleFile()).dataset;
  ds.Rows = 65535;
  ds.Columns = 65535;
  ds.NumberOfFrames = '65535';
  return writePart10(ds, IMPLEMENTATION);
}

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

const ui = (uid: string): Buffer => Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');

/** Collects what a deflate stream produced up to a sync flush. */
function flushed(z: ReturnType<typeof createDeflateRaw>, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer): number => chunks.push(c);
    z.on('data', onData);
    z.once('error', reject);
    z.write(data);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * A Deflated Explicit VR Little Endian file whose dataset inflates to about `inflatedBytes` (zeros in Pixel Data),
 * built without ever holding the inflated data: one sync-flushed deflate segment of 64 MiB of zeros is repeated
 * (its back-references point at zeros wherever it lands). 3.75 GB inflate from about 3.9 MB.
 */
export async function deflateBomb(inflatedBytes = 60 * 64 * 1024 * 1024): Promise<Uint8Array> {
  const header = readPart10(sampleFile()).dataset;
  const segment = 64 * 1024 * 1024;
  const repeats = Math.max(1, Math.round(inflatedBytes / segment));
  const pixelBytes = repeats * segment;
  const sopClass = String(header.SOPClassUID);
  const sop = '2.25.1234567890123456789012345678901234';
  const meta = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', ui(sopClass)),
    element(0x0002, 0x0003, 'UI', ui(sop)),
    element(0x0002, 0x0010, 'UI', ui('1.2.840.10008.1.2.1.99')),
    element(0x0002, 0x0012, 'UI', ui(IMPLEMENTATION.classUid)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.length);
  const us = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const dataset = Buffer.concat([
    element(0x0008, 0x0016, 'UI', ui(sopClass)),
    element(0x0008, 0x0018, 'UI', ui(sop)),
    element(0x0020, 0x000d, 'UI', ui('2.25.1111')),
    element(0x0020, 0x000e, 'UI', ui('2.25.2222')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0010, 'US', us(128)),
    element(0x0028, 0x0011, 'US', us(128)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
  ]);
  const pixelHead = Buffer.alloc(12);
  pixelHead.writeUInt16LE(0x7fe0, 0);
  pixelHead.writeUInt16LE(0x0010, 2);
  pixelHead.write('OB', 4, 'latin1');
  pixelHead.writeUInt32LE(pixelBytes, 8);
  const z = createDeflateRaw({ level: 9 });
  const head = await flushed(z, Buffer.concat([dataset, pixelHead]));
  const zeros = await flushed(z, Buffer.alloc(segment));
  const tail = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    z.on('data', (c: Buffer) => chunks.push(c));
    z.once('end', () => resolve(Buffer.concat(chunks)));
    z.end();
  });
  return new Uint8Array(
    Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), element(0x0002, 0x0000, 'UL', groupLength), meta, head, ...new Array<Buffer>(repeats).fill(zeros), tail]),
  );
}
