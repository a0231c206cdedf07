import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A small mutation fuzzer for DICOM Part 10 files: VR swaps, length field corruption, truncation and byte flips,
 * driven by a seeded PRNG so that a mutant is reproducible from (seed, index) alone.
 */

const VRS = ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV'];
const VR_SET = new Set(VRS);
/** VRs with 2 reserved bytes and a 4-byte length in explicit VR encodings. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const INTERESTING_LENGTHS = [0, 1, 2, 3, 0xff, 0xffff, 0xfffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0x1000000];

/** Offsets (≥ 132) of two ASCII bytes that form a known VR right after something shaped like a tag. */
export function vrOffsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 136; i + 1 < bytes.length; i++) {
    const a = bytes[i] as number;
    const b = bytes[i + 1] as number;
    if (a < 0x41 || a > 0x5a || b < 0x41 || b > 0x5a) continue;
    if (VR_SET.has(String.fromCharCode(a, b))) out.push(i);
  }
  return out;
}

export type MutationKind = 'vr-swap' | 'length' | 'truncate' | 'byte-flip';

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, e.g. "vr-swap@412 US→OB" (offsets only, no values from the file). */
  steps: string[];
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function writeLength(out: Uint8Array, vrAt: number, value: number): boolean {
  const vr = String.fromCharCode(out[vrAt] as number, out[vrAt + 1] as number);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (LONG_VRS.has(vr)) {
    if (vrAt + 8 > out.length) return false;
    view.setUint32(vrAt + 4, value >>> 0, true);
  } else {
    if (vrAt + 4 > out.length) return false;
    view.setUint16(vrAt + 2, value & 0xffff, true);
  }
  return true;
}

/** One mutant of `source`: 1 to 3 mutations, each chosen by `rand`. */
export function mutate(source: Uint8Array, rand: () => number, kinds: readonly MutationKind[] = ['vr-swap', 'vr-swap', 'length', 'truncate', 'byte-flip']): Mutant {
  let out = new Uint8Array(source);
  const steps: string[] = [];
  const count = 1 + Math.floor(rand() * 3);
  for (let m = 0; m < count; m++) {
    const kind = pick(rand, kinds);
    const vrs = kind === 'vr-swap' || kind === 'length' ? vrOffsets(out) : [];
    if ((kind === 'vr-swap' || kind === 'length') && vrs.length === 0) continue;
    if (kind === 'vr-swap') {
      const at = pick(rand, vrs);
      const from = String.fromCharCode(out[at] as number, out[at + 1] as number);
      const to = pick(rand, VRS);
      out[at] = to.charCodeAt(0);
      out[at + 1] = to.charCodeAt(1);
      steps.push(`vr-swap@${at} ${from}->${to}`);
    } else if (kind === 'length') {
      const at = pick(rand, vrs);
      const value = rand() < 0.6 ? pick(rand, INTERESTING_LENGTHS) : Math.floor(rand() * 0x100000000);
      if (writeLength(out, at, value)) steps.push(`length@${at}=0x${value.toString(16)}`);
    } else if (kind === 'truncate') {
      if (out.length <= 140) continue;
      const at = 132 + Math.floor(rand() * (out.length - 132));
      out = out.slice(0, at);
      steps.push(`truncate@${at}`);
    } else {
      const flips = 1 + Math.floor(rand() * 8);
      const at: number[] = [];
      for (let f = 0; f < flips; f++) {
        const i = 128 + Math.floor(rand() * (out.length - 128));
        out[i] = (out[i] as number) ^ (1 << Math.floor(rand() * 8));
        at.push(i);
      }
      steps.push(`byte-flip@${at.join(',')}`);
    }
  }
  return { bytes: out, steps };
}

const ROOT = path.join(__dirname, '..', '..');
export const SAMPLE_MR_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** The fuzz corpus: a few sample MR slices and pydicom's small Part 10 test files (those present on this machine). */
export function fuzzCorpus(options: { sampleSlices?: number; maxBytes?: number } = {}): { name: string; bytes: Uint8Array }[] {
  const maxBytes = options.maxBytes ?? 200_000;
  const out: { name: string; bytes: Uint8Array }[] = [];
  const mr = readdirSync(SAMPLE_MR_DIR).filter((f) => f.endsWith('.dcm')).sort();
  const every = Math.max(1, Math.floor(mr.length / (options.sampleSlices ?? 4)));
  for (let i = 0; i < mr.length; i += every) out.push({ name: `sample-mr/${mr[i]}`, bytes: new Uint8Array(readFileSync(path.join(SAMPLE_MR_DIR, mr[i] as string))) });
  let pydicom: string[] = [];
  try {
    pydicom = readdirSync(PYDICOM_TEST_FILES).filter((f) => f.endsWith('.dcm')).sort();
  } catch {
    /* pydicom not installed: the sample series alone */
  }
  for (const f of pydicom) {
    const p = path.join(PYDICOM_TEST_FILES, f);
    if (statSync(p).size > maxBytes) continue;
    const bytes = new Uint8Array(readFileSync(p));
    // Only Part 10 files: those without a preamble are refused before the parser runs, nothing to fuzz.
    if (bytes.length > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) out.push({ name: `pydicom/${f}`, bytes });
  }
  return out;
}
