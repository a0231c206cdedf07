import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { functionalGroup } from './decode';
import { num, str } from './part10';

/**
 * Checks that one series holds one volume, not several interleaved ones: echoes, temporal phases, diffusion
 * weightings, stacks, or repeated sets of positions. Each finding is a GEOMETRY error that says what was found and
 * how to fix it. Attributes that reliably identify a volume (EchoNumbers, TemporalPositionIdentifier, StackID, b-value)
 * are refused as soon as they take two values; attributes that vary for other reasons too (TriggerTime, EchoTime,
 * AcquisitionNumber) are used only to explain positions that repeat or acquisitions that overlap.
 */

/** Per-frame attributes that tell volumes apart (undefined when the instance does not say). */
export interface FrameTags {
  echoNumber?: number;
  effectiveEchoTime?: number;
  echoTime?: number;
  temporalPosition?: number;
  temporalPositionIndex?: number;
  triggerTime?: number;
  acquisitionNumber?: number;
  stackId?: string;
  bValue?: number;
}

/** Reads the tags of one frame: per-frame functional groups for enhanced instances, the top level otherwise. */
export function frameTags(ds: NaturalDataset, frameIndex: number | undefined): FrameTags {
  const group = (seq: string): NaturalDataset | undefined => (frameIndex === undefined ? undefined : functionalGroup(ds, frameIndex, seq));
  const content = group('FrameContentSequence');
  return {
    echoNumber: num(ds, 'EchoNumbers'),
    effectiveEchoTime: num(group('MREchoSequence') ?? {}, 'EffectiveEchoTime'),
    echoTime: num(ds, 'EchoTime'),
    temporalPosition: num(ds, 'TemporalPositionIdentifier'),
    temporalPositionIndex: num(content ?? {}, 'TemporalPositionIndex'),
    triggerTime: num(ds, 'TriggerTime') ?? num(group('CardiacSynchronizationSequence') ?? {}, 'NominalCardiacTriggerDelayTime'),
    acquisitionNumber: num(ds, 'AcquisitionNumber'),
    stackId: str(content ?? {}, 'StackID'),
    bValue: num(ds, 'DiffusionBValue') ?? num(group('MRDiffusionSequence') ?? {}, 'DiffusionBValue'),
  };
}

/** A slice as the checks see it: where it came from, its tags and its position along the normal (mm). */
export interface PlacedSlice {
  /** "instance 3" or "instance 1 frame 4", for messages. */
  at: string;
  tags: FrameTags;
  position: number;
}

interface Dimension {
  key: keyof FrameTags;
  attribute: string;
  /** Plural noun for what the values stand for, and the unit of the values. */
  what: string;
  unit: string;
  fix: string;
}

/** Attributes that identify one volume among several in a series: two values mean two volumes. */
const IDENTIFYING: Dimension[] = [
  { key: 'echoNumber', attribute: 'EchoNumbers', what: 'echoes', unit: '', fix: 'select one echo (split the series by EchoNumbers)' },
  { key: 'effectiveEchoTime', attribute: 'EffectiveEchoTime', what: 'echoes', unit: ' ms', fix: 'select one echo (split the frames by EffectiveEchoTime)' },
  {
    key: 'temporalPosition',
    attribute: 'TemporalPositionIdentifier',
    what: 'temporal phases',
    unit: '',
    fix: 'select one phase (split the series by TemporalPositionIdentifier)',
  },
  {
    key: 'temporalPositionIndex',
    attribute: 'TemporalPositionIndex',
    what: 'temporal phases',
    unit: '',
    fix: 'select one phase (split the frames by TemporalPositionIndex)',
  },
  { key: 'bValue', attribute: 'DiffusionBValue', what: 'diffusion weightings', unit: ' s/mm²', fix: 'select one b-value (or a derived map such as ADC)' },
  { key: 'stackId', attribute: 'StackID', what: 'stacks', unit: '', fix: 'select one stack (split the frames by StackID)' },
];

/** Attributes that may explain why positions repeat: several images per position that differ in them. */
const EXPLAINING: Dimension[] = [
  { key: 'triggerTime', attribute: 'TriggerTime', what: 'temporal phases', unit: ' ms', fix: 'select one phase (split the series by TriggerTime)' },
  { key: 'echoTime', attribute: 'EchoTime', what: 'echoes', unit: ' ms', fix: 'select one echo (split the series by EchoTime)' },
  {
    key: 'acquisitionNumber',
    attribute: 'AcquisitionNumber',
    what: 'stacks',
    unit: '',
    fix: 'select one acquisition (split the series by AcquisitionNumber)',
  },
];

function fmt(x: number): string {
  return Number(x.toFixed(3)).toString();
}

export function listValues(values: (string | number)[], unit: string): string {
  const shown = values.slice(0, 8).map((v) => (typeof v === 'number' ? fmt(v) : v));
  return `${shown.join(', ')}${values.length > 8 ? ', …' : ''}${unit}`;
}

function distinctValues(slices: PlacedSlice[], key: keyof FrameTags): (string | number)[] {
  const values = new Set<string | number>();
  for (const s of slices) {
    const v = s.tags[key];
    if (v !== undefined) values.add(v);
  }
  return [...values].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
}

function severalVolumes(d: Dimension, values: (string | number)[], extra = ''): AppError {
  return new AppError('GEOMETRY', `series holds ${values.length} ${d.what} (${d.attribute} ${listValues(values, d.unit)})${extra}: ${d.fix}`, {
    details: { attribute: d.attribute, count: values.length },
  });
}

/** Refuses a series whose identifying attributes take several values. */
export function checkIdentifyingAttributes(slices: PlacedSlice[]): void {
  for (const d of IDENTIFYING) {
    const values = distinctValues(slices, d.key);
    if (values.length > 1) throw severalVolumes(d, values);
  }
}

/** Groups slices that lie at the same position along the normal (within 1 µm), in order of position. */
export function groupByPosition<T extends { position: number }>(sorted: T[]): T[][] {
  const groups: T[][] = [];
  for (const s of sorted) {
    const last = groups[groups.length - 1];
    const head = last?.[0];
    if (last && head && s.position - head.position < 1e-3) last.push(s);
    else groups.push([s]);
  }
  return groups;
}

/**
 * Explains positions that hold more than one slice: by an attribute that differs within every such position, or as
 * repeated position sets when every position holds the same number of slices. Returns undefined when neither fits
 * (then the caller reports plain duplicates).
 */
export function explainRepeatedPositions(groups: PlacedSlice[][]): AppError | undefined {
  const repeated = groups.filter((g) => g.length > 1);
  if (repeated.length === 0) return undefined;
  for (const d of EXPLAINING) {
    const separates = repeated.every((g) => {
      const values = g.map((s) => s.tags[d.key]);
      return values.every((v) => v !== undefined) && new Set(values).size === g.length;
    });
    if (separates) {
      const values = distinctValues(groups.flat(), d.key);
      return severalVolumes(d, values, ` with up to ${Math.max(...repeated.map((g) => g.length))} images at the same position`);
    }
  }
  const perPosition = groups[0]?.length ?? 0;
  if (groups.length > 1 && groups.every((g) => g.length === perPosition)) {
    return new AppError(
      'GEOMETRY',
      `series holds ${perPosition} images at each of its ${groups.length} positions (repeated position sets: several volumes, e.g. ` +
        'phases or repeated acquisitions, with no attribute that tells them apart): select one set, or split the series before running the model',
      { details: { imagesPerPosition: perPosition, positions: groups.length } },
    );
  }
  return undefined;
}

/**
 * Refuses acquisitions whose position ranges overlap (interleaved stacks): merged, they would alternate between two
 * acquisitions even when the positions happen to look evenly spaced. Acquisitions that follow one another along the
 * normal (e.g. one AcquisitionNumber per rotation of a step-and-shoot CT) are one stack.
 */
export function checkOverlappingAcquisitions(slices: PlacedSlice[]): void {
  if (slices.some((s) => s.tags.acquisitionNumber === undefined)) return;
  const ranges = new Map<number, { min: number; max: number }>();
  for (const s of slices) {
    const n = s.tags.acquisitionNumber as number;
    const r = ranges.get(n);
    if (!r) ranges.set(n, { min: s.position, max: s.position });
    else {
      r.min = Math.min(r.min, s.position);
      r.max = Math.max(r.max, s.position);
    }
  }
  if (ranges.size < 2) return;
  const eps = 1e-3;
  const list = [...ranges.values()];
  const overlap = list.some((a, i) => list.some((b, j) => j > i && a.min < b.max - eps && b.min < a.max - eps));
  if (overlap) {
    const d = EXPLAINING.find((x) => x.key === 'acquisitionNumber') as Dimension;
    throw severalVolumes(d, [...ranges.keys()].sort((a, b) => a - b), ' whose slice positions interleave');
  }
}

/**
 * InstanceNumbers absent from the range the series spans (only when every slice is a single-frame instance with a
 * distinct InstanceNumber); a hole means an instance is missing rather than a gap by design.
 */
export function missingInstanceNumbers(instanceNumbers: (number | undefined)[]): number[] {
  if (instanceNumbers.length < 2 || instanceNumbers.some((n) => n === undefined || !Number.isInteger(n))) return [];
  const present = new Set(instanceNumbers as number[]);
  if (present.size !== instanceNumbers.length) return [];
  const min = Math.min(...present);
  const max = Math.max(...present);
  const missing: number[] = [];
  for (let n = min + 1; n < max && missing.length <= 1000; n++) if (!present.has(n)) missing.push(n);
  return missing;
}


