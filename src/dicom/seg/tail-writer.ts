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

const tags = new Map<string, { group: number; element: number; vr: string }>();

function tagOf(keyword: string): { group: number; element: number; vr: string } {
  const known = tags.get(keyword);
  if (known) return known;
  const entry = nameMap[keyword];
  const match = entry && /^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$/.exec(entry.tag);
  if (!entry || !match) throw new AppError('INTERNAL', `SEG writer: no fixed tag for ${keyword}`);
  const tag = { group: parseInt(match[1]!, 16), element: parseInt(match[2]!, 16), vr: entry.vr };
  tags.set(keyword, tag);
  return tag;
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

/** Bytes of one element written by the generic writer (used once per slice or segment, never per voxel). */
function elementBytes(keyword: string, value: unknown): Uint8Array {
  const w = new ByteWriter(256);
  writeElement(w, keyword, value);
  return w.result();
}

/** What a SEG frame's Per-Frame Functional Groups item is made of (see content.ts perFrameFunctionalGroups). */
export interface FrameItemParts {
  /** Key of the source slice: frames on the same slice share its Derivation Image and Plane Position bytes. */
  sliceIndex: number;
  /** The frame's item as a dataset, built only the first time its slice (or segment) is seen. */
  item: () => NaturalDataset;
  segmentNumber: number | undefined;
  dimensionIndexValues: readonly number[];
}

/** The Pixel Data value, written straight into the output file. */
export interface PixelDataWriter {
  /** Even length in bytes. */
  byteLength: number;
  /** Zeroed working space the writer needs right after the value (not part of the file); 0 if none. */
  scratchBytes: number;
  /** Fills `out` (byteLength + scratchBytes bytes, zeroed); throws if the data cannot be encoded. */
  writeInto(out: Uint8Array): void;
}

const ITEM_START = [0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff];
const ITEM_END = [0xfe, 0xff, 0x0d, 0xe0, 0x00, 0x00, 0x00, 0x00];
const SEQUENCE_END = [0xfe, 0xff, 0xdd, 0xe0, 0x00, 0x00, 0x00, 0x00];

/**
 * Frame Content Sequence bytes with its Dimension Index Values patched in: the element layout is fixed (SQ header
 * 12, item header 8, UL header 8), so the values sit at byte 28 of a template written once by the generic writer.
 */
class FrameContentTemplate {
  private readonly template: Uint8Array;
  private static readonly VALUES_AT = 28;

  constructor(private readonly count: number) {
    this.template = elementBytes('FrameContentSequence', [{ DimensionIndexValues: new Array<number>(count).fill(0) }]);
  }

  get byteLength(): number {
    return this.template.length;
  }

  writeInto(out: Uint8Array, at: number, values: readonly number[]): void {
    out.set(this.template, at);
    let o = at + FrameContentTemplate.VALUES_AT;
    for (let i = 0; i < this.count; i++) {
      const v = values[i]!;
      out[o++] = v & 255;
      out[o++] = (v >>> 8) & 255;
      out[o++] = (v >>> 16) & 255;
      out[o++] = v >>> 24;
    }
  }
}

/**
 * Assembles the SEG's Part 10 bytes in one allocation: `head` (a Part 10 file ending before (5200,9230), written by
 * dcmjs), then the Per-Frame Functional Groups Sequence and Pixel Data (the two highest tags), in Explicit VR
 * Little Endian exactly as dcmjs writes them. The per-frame items are copied from byte pieces written once per
 * source slice (Derivation Image, Plane Position) and once per segment (Segment Identification), with only the
 * Dimension Index Values patched per frame; the pixels are written into the file buffer itself, so the SEG exists
 * in memory once.
 */
export function assemblePart10(head: Uint8Array, frames: readonly FrameItemParts[], pixels: PixelDataWriter): Uint8Array {
  const derivation = new Map<number, Uint8Array>();
  const plane = new Map<number, Uint8Array>();
  const segment = new Map<number | undefined, Uint8Array>();
  const content = new Map<number, FrameContentTemplate>();
  let itemsLength = 0;
  for (const frame of frames) {
    if (!derivation.has(frame.sliceIndex)) {
      const item = frame.item();
      derivation.set(frame.sliceIndex, elementBytes('DerivationImageSequence', item.DerivationImageSequence));
      plane.set(frame.sliceIndex, elementBytes('PlanePositionSequence', item.PlanePositionSequence));
    }
    if (!segment.has(frame.segmentNumber)) {
      const identification = frame.item().SegmentIdentificationSequence;
      segment.set(frame.segmentNumber, identification === undefined ? new Uint8Array(0) : elementBytes('SegmentIdentificationSequence', identification));
    }
    const count = frame.dimensionIndexValues.length;
    if (!content.has(count)) content.set(count, new FrameContentTemplate(count));
    itemsLength +=
      ITEM_START.length +
      derivation.get(frame.sliceIndex)!.length +
      content.get(count)!.byteLength +
      plane.get(frame.sliceIndex)!.length +
      segment.get(frame.segmentNumber)!.length +
      ITEM_END.length;
  }
  const sequenceHeader = new Uint8Array(12);
  headerInto(sequenceHeader, 0, 'PerFrameFunctionalGroupsSequence', 'SQ', UNDEFINED_LENGTH);
  const pixelHeader = new Uint8Array(12);
  headerInto(pixelHeader, 0, 'PixelData', 'OB', pixels.byteLength); // 1-bit pixels are OB, as are 8-bit ones here

  const total = head.length + sequenceHeader.length + itemsLength + SEQUENCE_END.length + pixelHeader.length + pixels.byteLength;
  // The writer's scratch space follows the file in the same allocation; the result is a view without it.
  const out = new Uint8Array(total + pixels.scratchBytes);
  let at = 0;
  const put = (bytes: ArrayLike<number>): void => {
    out.set(bytes, at);
    at += bytes.length;
  };
  put(head);
  put(sequenceHeader);
  for (const frame of frames) {
    put(ITEM_START);
    put(derivation.get(frame.sliceIndex)!);
    const template = content.get(frame.dimensionIndexValues.length)!;
    template.writeInto(out, at, frame.dimensionIndexValues);
    at += template.byteLength;
    put(plane.get(frame.sliceIndex)!);
    put(segment.get(frame.segmentNumber)!);
    put(ITEM_END);
  }
  put(SEQUENCE_END);
  put(pixelHeader);
  pixels.writeInto(out.subarray(at, at + pixels.byteLength + pixels.scratchBytes));
  return pixels.scratchBytes === 0 ? out : out.subarray(0, total);
}

/** A long-VR element header (tag, VR, 2 reserved bytes, 4-byte length) at `at`. */
function headerInto(out: Uint8Array, at: number, keyword: string, vr: string, length: number): void {
  const { group, element } = tagOf(keyword);
  const view = new DataView(out.buffer, out.byteOffset + at, 12);
  view.setUint16(0, group, true);
  view.setUint16(2, element, true);
  view.setUint8(4, vr.charCodeAt(0));
  view.setUint8(5, vr.charCodeAt(1));
  view.setUint16(6, 0, true);
  view.setUint32(8, length >>> 0, true);
}

/** One Referenced Instance Sequence item (SOP Class UID, SOP Instance UID) in the bytes writeElement gives it. */
function referencedInstanceItem(item: NaturalDataset): Uint8Array {
  const w = new ByteWriter(128);
  w.bytes(Uint8Array.from(ITEM_START));
  writeDataset(w, item);
  w.bytes(Uint8Array.from(ITEM_END));
  return w.result();
}

/**
 * Writes the header (everything before the Per-Frame Functional Groups) with dcmjs, except the items of the
 * Referenced Instance Sequence of a one-series Referenced Series Sequence (one per source instance: hundreds),
 * which dcmjs writes at about 0.15 ms each. dcmjs writes the sequence with its first item only; the other items,
 * written by us exactly as that first one, are inserted right after it. The first item's bytes are located by
 * content (they hold a unique SOP Instance UID); if dcmjs ever wrote them differently, dcmjs writes everything.
 */
export function writeHeaderWithInstanceList(header: NaturalDataset, write: (ds: NaturalDataset) => Uint8Array): Uint8Array {
  const series = header.ReferencedSeriesSequence;
  const item = Array.isArray(series) && series.length === 1 ? (series[0] as NaturalDataset) : undefined;
  const instances = item?.ReferencedInstanceSequence;
  if (!item || !Array.isArray(instances) || instances.length < 2) return write(header);
  const first = referencedInstanceItem(instances[0] as NaturalDataset);
  const shortened = write({ ...header, ReferencedSeriesSequence: [{ ...item, ReferencedInstanceSequence: [instances[0]] }] });
  const bytes = Buffer.from(shortened.buffer, shortened.byteOffset, shortened.length);
  const at = bytes.indexOf(first);
  if (at < 0 || bytes.indexOf(first, at + 1) >= 0) return write(header);
  const rest = instances.slice(1).map((i) => referencedInstanceItem(i as NaturalDataset));
  const insertAt = at + first.length;
  const out = new Uint8Array(shortened.length + rest.reduce((n, r) => n + r.length, 0));
  out.set(shortened.subarray(0, insertAt), 0);
  let o = insertAt;
  for (const r of rest) {
    out.set(r, o);
    o += r.length;
  }
  out.set(shortened.subarray(insertAt), o);
  return out;
}
