/**
 * Writes the last two elements of a SEG ourselves: Per-Frame Functional Groups Sequence (5200,9230) and Pixel Data
 * (7FE0,0010), in Explicit VR Little Endian as dcmjs writes them (sequences and items of undefined length,
 * elements sorted by tag, strings padded to even length; DS formatted by decimalString). dcmjs spends about 1 s per 1,000 frames on the
 * per-frame items and copies Pixel Data several times while growing its buffer; this writer does neither.
 * Only the VRs these elements use are supported; anything else is an internal error, not a silent guess.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../../domain/errors';

const { nameMap } = dcmjs.data.DicomMetaDictionary;

/** VRs with a 2-byte reserved field and a 4-byte length in Explicit VR (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'SH', 'TM', 'UI']);
const UNDEFINED_LENGTH = 0xffffffff;
const DS_MAX = 16;

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial: number) {
    this.buf = Buffer.alloc(Math.max(64, initial));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A plain Uint8Array view (not a Buffer: Buffer#slice does not copy, which surprises Uint8Array callers). */
  result(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }
}

function tagOf(keyword: string): { group: number; element: number; vr: string } {
  const entry = nameMap[keyword];
  const match = entry && /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(entry.tag);
  if (!entry || !match) throw new AppError('INTERNAL', `SEG writer: no fixed tag for ${keyword}`);
  return { group: parseInt(match[1]!, 16), element: parseInt(match[2]!, 16), vr: entry.vr };
}

/** The tag of a keyword as one number (group << 16 | element), for ordering. */
function tagNumber(keyword: string): number {
  const { group, element } = tagOf(keyword);
  return group * 0x10000 + element;
}

/** True when every keyword is a dictionary attribute with a tag before (5200,9230), i.e. the tail can follow. */
export function endsBeforeTail(keywords: readonly string[]): boolean {
  const tail = tagNumber('PerFrameFunctionalGroupsSequence');
  return keywords.every((k) => k === '_vrMap' || k === '_meta' || (nameMap[k] !== undefined && tagNumber(k) < tail));
}

/**
 * DS text for a number: at most 16 characters, rounded (never cut), in exponent form for very small or large values.
 * This is dcmjs's rule for numbers; dcmjs itself turns numbers into strings first and then cuts them at 16
 * characters, which breaks values such as 6.123233995736766e-17 (a cosine of 90 degrees) into "6.123233995736766".
 */
export function decimalString(value: number): string {
  const str = String(value);
  if (str.length <= DS_MAX) return str;
  const sign = value < 0 ? 1 : 0;
  const log = Math.log10(Math.abs(value));
  if (log < -4 || log >= 14 - sign) {
    const s = value.toExponential(DS_MAX - sign);
    return s.length <= DS_MAX ? s : value.toExponential(DS_MAX - (s.length - DS_MAX) - sign);
  }
  const s = value.toFixed(DS_MAX - sign);
  return s.length <= DS_MAX ? s : value.toFixed(DS_MAX - sign - (s.length - DS_MAX));
}

/** A copy of a naturalized dataset with every numeric DS value turned into DS text, for handing to dcmjs. */
export function withDecimalStrings(ds: NaturalDataset): NaturalDataset {
  const out: NaturalDataset = {};
  for (const [key, value] of Object.entries(ds)) {
    const vr = nameMap[key]?.vr;
    if (vr === 'SQ' && Array.isArray(value)) out[key] = value.map((item) => withDecimalStrings(item as NaturalDataset));
    else if (vr === 'DS' && typeof value === 'number') out[key] = decimalString(value);
    else if (vr === 'DS' && Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'number' ? decimalString(v) : v));
    else out[key] = value;
  }
  return out;
}

function header(w: ByteWriter, group: number, element: number, vr: string, length: number): void {
  w.u16(group);
  w.u16(element);
  w.u16(vr.charCodeAt(0) | (vr.charCodeAt(1) << 8));
  if (LONG_VRS.has(vr)) {
    w.u16(0);
    w.u32(length);
  } else {
    w.u16(length);
  }
}

function textBytes(vr: string, values: unknown[]): Uint8Array {
  const text = values.map((v) => (vr === 'DS' && typeof v === 'number' ? decimalString(v) : String(v))).join('\\');
  const raw = Buffer.from(text, 'utf8');
  if (raw.length % 2 === 0) return raw;
  // UI pads with NUL, the other text VRs with a space.
  return Buffer.concat([raw, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function binaryBytes(vr: string, values: unknown[]): Uint8Array {
  const size = vr === 'US' ? 2 : 4;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (vr === 'US') out.writeUInt16LE(Number(v), i * 2);
    else out.writeUInt32LE(Number(v) >>> 0, i * 4);
  });
  return out;
}

/** `vrOverride` settles dictionary VRs that depend on the data ("ox" for Pixel Data). */
function writeElement(w: ByteWriter, keyword: string, value: unknown, vrOverride?: string): void {
  if (value === undefined) return;
  const { group, element, vr: dictionaryVr } = tagOf(keyword);
  const vr = vrOverride ?? dictionaryVr;
  if (vr === 'SQ') {
    header(w, group, element, vr, UNDEFINED_LENGTH);
    for (const item of Array.isArray(value) ? value : [value]) {
      w.u16(0xfffe);
      w.u16(0xe000);
      w.u32(UNDEFINED_LENGTH);
      writeDataset(w, item as NaturalDataset);
      w.u16(0xfffe);
      w.u16(0xe00d);
      w.u32(0);
    }
    w.u16(0xfffe);
    w.u16(0xe0dd);
    w.u32(0);
    return;
  }
  const values = value === null ? [] : Array.isArray(value) ? value : [value];
  let bytes: Uint8Array;
  if (TEXT_VRS.has(vr)) bytes = textBytes(vr, values);
  else if (vr === 'US' || vr === 'UL') bytes = binaryBytes(vr, values);
  else if (vr === 'OB' && values[0] instanceof Uint8Array) bytes = values[0];
  else throw new AppError('INTERNAL', `SEG writer: VR ${vr} of ${keyword} is not supported`);
  header(w, group, element, vr, bytes.length);
  w.bytes(bytes);
}

function writeDataset(w: ByteWriter, ds: NaturalDataset): void {
  const keys = Object.keys(ds).filter((k) => k !== '_vrMap' && k !== '_meta');
  keys.sort((a, b) => tagNumber(a) - tagNumber(b));
  for (const key of keys) writeElement(w, key, ds[key]);
}

/** Appends the per-frame items and the packed pixels to `head` (a Part 10 file ending before (5200,9230)). */
export function appendTail(head: Uint8Array, perFrameGroups: NaturalDataset[], pixelData: Uint8Array): Uint8Array {
  const w = new ByteWriter(head.length + perFrameGroups.length * 600 + pixelData.length + 64);
  w.bytes(head);
  writeElement(w, 'PerFrameFunctionalGroupsSequence', perFrameGroups);
  writeElement(w, 'PixelData', pixelData, 'OB'); // 1-bit pixels are OB
  return w.result();
}
