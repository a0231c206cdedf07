import { inflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { assertValidUid } from '../domain/uid';
import { findTruncation } from './truncation';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;

// dcmjs logs parse warnings through loglevel; they may quote header values, so keep them out of our logs.
try {
  (dcmjs.log as { setLevel?: (l: string) => void }).setLevel?.('error');
} catch {
  /* older dcmjs: no log control */
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

export interface ParsedPart10 {
  transferSyntaxUid: string;
  meta: NaturalDataset;
  dataset: NaturalDataset;
}

export interface ReadLimits {
  /** Refuse files larger than this before parsing (bytes). */
  maxBytes: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxBytes: 2 * 1024 * 1024 * 1024 - 1 };

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice() is a view into a shared pool).
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

/** True when the bytes start like a DICOM Part 10 file (128-byte preamble then "DICM"). */
export function looksLikePart10(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** Byte offset where the dataset starts (after the file meta group), from FileMetaInformationGroupLength. */
function metaEnd(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // (0002,0000) UL, explicit VR little endian, always first in the meta group.
  if (bytes.length < 144 || view.getUint16(132, true) !== 0x0002 || view.getUint16(134, true) !== 0x0000) return undefined;
  if (bytes[136] !== 0x55 || bytes[137] !== 0x4c || view.getUint16(138, true) !== 4) return undefined;
  const end = 144 + view.getUint32(140, true);
  return end <= bytes.length ? end : undefined;
}

/**
 * Deflated Explicit VR Little Endian: dcmjs would inflate the whole dataset with no limit (a few MB can inflate to
 * GBs). Inflate here with a hard cap on the output instead, and hand dcmjs an Explicit VR Little Endian file: the
 * meta's TransferSyntaxUID is rewritten in place (same length, NUL padded) so the meta group length stays right.
 */
function inflatedForDcmjs(bytes: Uint8Array, maxBytes: number): Uint8Array {
  const end = metaEnd(bytes);
  if (end === undefined) throw new AppError('BAD_DICOM', 'deflated DICOM file has no usable FileMetaInformationGroupLength');
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(end), { maxOutputLength: Math.max(1, maxBytes - end) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new AppError('TOO_LARGE', `deflated DICOM dataset inflates past the limit of ${maxBytes} bytes`, { cause: err });
    }
    throw new AppError('BAD_DICOM', `deflated DICOM dataset could not be inflated: ${(err as Error).message.slice(0, 120)}`, { cause: err });
  }
  const out = new Uint8Array(end + inflated.length);
  out.set(bytes.subarray(0, end));
  out.set(inflated, end);
  const ts = Buffer.from(out.buffer, out.byteOffset, end).indexOf(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 132, 'latin1');
  if (ts < 0) throw new AppError('BAD_DICOM', 'deflated DICOM file meta does not carry its transfer syntax where expected');
  out.set(Buffer.from(EXPLICIT_VR_LITTLE_ENDIAN.padEnd(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.length, '\u0000'), 'latin1'), ts);
  return out;
}

/** The file meta's TransferSyntaxUID, read without dcmjs (to decide whether to inflate first). */
function isDeflated(bytes: Uint8Array): boolean {
  const end = metaEnd(bytes) ?? Math.min(bytes.length, 1024);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 132, 'latin1') >= 0;
}

/**
 * Parses a DICOM Part 10 file into a naturalized dataset (keywords as keys).
 * Throws AppError BAD_DICOM with a reason that quotes no header values.
 */
export function readPart10(bytes: Uint8Array, limits: ReadLimits = DEFAULT_READ_LIMITS, options: { headerOnly?: boolean } = {}): ParsedPart10 {
  if (bytes.length > limits.maxBytes) {
    throw new AppError('TOO_LARGE', `DICOM file of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`);
  }
  if (!looksLikePart10(bytes)) {
    throw new AppError('BAD_DICOM', 'not a DICOM Part 10 file (no DICM preamble)');
  }
  const deflated = isDeflated(bytes);
  const input = deflated ? inflatedForDcmjs(bytes, limits.maxBytes) : bytes;
  let dict;
  try {
    // headerOnly: stop at Pixel Data (its value is neither read nor copied) for callers that need attributes only.
    dict = DicomMessage.readFile(
      toArrayBuffer(input),
      options.headerOnly ? { ignoreErrors: false, untilTag: '7FE00010', includeUntilTagValue: false, noCopy: true } : { ignoreErrors: false },
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message.slice(0, 200) : 'unknown parse error';
    throw new AppError('BAD_DICOM', `DICOM file could not be parsed: ${reason}`, { cause: err });
  }
  checkIdentifyingUids(dict.dict);
  const meta = DicomMetaDictionary.naturalizeDataset(dict.meta);
  const dataset = DicomMetaDictionary.naturalizeDataset(dict.dict);
  if (deflated && meta.TransferSyntaxUID === EXPLICIT_VR_LITTLE_ENDIAN) meta.TransferSyntaxUID = DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
  const transferSyntaxUid = typeof meta.TransferSyntaxUID === 'string' ? meta.TransferSyntaxUID : '';
  if (!transferSyntaxUid) throw new AppError('BAD_DICOM', 'DICOM file has no TransferSyntaxUID in its file meta');
  // dcmjs zero-fills values that run past the end of the buffer; a cut file must not decode as black pixels.
  const truncation = deflated ? findTruncation(input, EXPLICIT_VR_LITTLE_ENDIAN) : findTruncation(bytes, transferSyntaxUid);
  if (truncation) throw new AppError('BAD_DICOM', `DICOM file is truncated: ${truncation}`);
  return { transferSyntaxUid, meta, dataset };
}

const IDENTIFYING_UIDS: [tag: string, keyword: string][] = [
  ['0020000D', 'StudyInstanceUID'],
  ['0020000E', 'SeriesInstanceUID'],
  ['00080018', 'SOPInstanceUID'],
];

/**
 * dcmjs strips every character but digits and "." from UI values ("ABC.DEF" and "XYZ.QRS" both read as "."), so
 * two different invalid UIDs become one and their studies merge. Check the bytes as stored instead, only
 * trailing padding removed; an absent UID is left to the callers that require it.
 */
function checkIdentifyingUids(elements: Record<string, { _rawValue?: unknown; Value?: unknown }>): void {
  for (const [tag, keyword] of IDENTIFYING_UIDS) {
    const element = elements[tag];
    if (!element) continue;
    const raw = element._rawValue ?? element.Value;
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0 || (values.length === 1 && (values[0] === undefined || values[0] === ''))) continue;
    if (values.length > 1) throw new AppError('BAD_DICOM', `${keyword} is not a valid DICOM UID: it has ${values.length} values`);
    assertValidUid(String(values[0]).replace(/[\0 ]+$/, ''), keyword);
  }
}

/** Writes a naturalized dataset as Part 10, Explicit VR Little Endian, with a file meta built from the dataset. */
export function writePart10(dataset: NaturalDataset, implementation: { classUid: string; versionName: string }): Uint8Array {
  const sopClassUid = dataset.SOPClassUID;
  const sopInstanceUid = dataset.SOPInstanceUID;
  if (typeof sopClassUid !== 'string' || typeof sopInstanceUid !== 'string') {
    throw new AppError('INTERNAL', 'dataset to write lacks SOPClassUID or SOPInstanceUID');
  }
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: implementation.classUid,
    ImplementationVersionName: implementation.versionName,
  });
  const out = new DicomDict(meta);
  out.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(out.write());
}

/** Reads a string attribute that dcmjs may hand back as a string or a one-element array. */
export function str(ds: NaturalDataset, keyword: string): string | undefined {
  const v = ds[keyword];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v.join('\\');
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && 'Alphabetic' in (v as Record<string, unknown>)) {
    return String((v as Record<string, unknown>).Alphabetic ?? '');
  }
  if (Array.isArray(v) && v[0] && typeof v[0] === 'object' && 'Alphabetic' in (v[0] as Record<string, unknown>)) {
    return String((v[0] as Record<string, unknown>).Alphabetic ?? '');
  }
  return undefined;
}

/** Reads a numeric attribute (single value). */
export function num(ds: NaturalDataset, keyword: string): number | undefined {
  const v = ds[keyword];
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'number' && Number.isFinite(first)) return first;
  if (typeof first === 'string' && first.trim() !== '' && Number.isFinite(Number(first))) return Number(first);
  return undefined;
}

/** Reads a multi-valued numeric attribute of exactly n values. */
export function nums(ds: NaturalDataset, keyword: string, n: number): number[] | undefined {
  const v = ds[keyword];
  const arr = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : v === undefined ? [] : [v];
  if (arr.length !== n) return undefined;
  const out = arr.map((x) => (typeof x === 'number' ? x : Number(x)));
  return out.every((x) => Number.isFinite(x)) ? out : undefined;
}

/** Reads a multi-valued string attribute. */
export function strs(ds: NaturalDataset, keyword: string): string[] | undefined {
  const v = ds[keyword];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return v.split('\\');
  return undefined;
}

export const IMPLEMENTATION = {
  // 2.25-rooted, derived once from the project name; identifies files written by clinical-ai.
  classUid: '2.25.190384170128640577618932283545519468339',
  versionName: 'CLINICAL_AI_01',
};
