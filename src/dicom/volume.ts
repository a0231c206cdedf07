import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { countNonFinite } from '../domain/finite';
import type { Orientation6, Vec3 } from '../domain/study';
import type { SliceSource, Volume } from '../domain/volume';
import { DEFAULT_DECODE_LIMITS, decodeFrames, functionalGroup, type DecodeLimits } from './decode';
import { num, nums, str, type ParsedPart10 } from './part10';
import {
  checkIdentifyingAttributes,
  checkOverlappingAcquisitions,
  explainRepeatedPositions,
  frameTags,
  groupByPosition,
  listValues,
  missingInstanceNumbers,
  type FrameTags,
  type PlacedSlice,
} from './volume-checks';

/**
 * Volume assembly: turns the instances of one series into a regular 3D grid in patient space (LPS). Slices are
 * ordered by their position along the slice normal, never by file order or InstanceNumber, and every way a series
 * can fail to be one regular grid is refused with a GEOMETRY error that names the problem.
 */

export interface BuildVolumeOptions {
  decodeLimits?: DecodeLimits;
  /** Largest difference between direction cosines still treated as the same orientation. */
  orientationTolerance?: number;
  /** Allowed deviation of one slice gap from the median gap: relative part and absolute part (mm). */
  spacingTolerance?: { relative: number; absoluteMm: number };
  /**
   * Uneven slice gaps (manifest preprocessing.nonUniformSpacing): "reject" (default) refuses them; "resample" returns
   * the volume with sliceOffsets (and the mean gap as spacing[2]) for the resampler. Missing instances are refused
   * either way when InstanceNumbers show a hole.
   */
  nonUniformSpacing?: 'reject' | 'resample';
}

const DEFAULTS = {
  orientationTolerance: 1e-3,
  spacingTolerance: { relative: 0.01, absoluteMm: 0.01 },
};

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** The unit slice normal rowDir × colDir of an ImageOrientationPatient. */
export function sliceNormal(iop: Orientation6): Vec3 {
  const n = cross([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
  const len = Math.hypot(n[0], n[1], n[2]);
  if (!(len > 1e-6)) throw new AppError('GEOMETRY', 'ImageOrientationPatient row and column directions are parallel or zero');
  // + 0 turns −0 into 0 so that normals compare and print cleanly.
  return [n[0] / len + 0, n[1] / len + 0, n[2] / len + 0];
}

type Grid = Pick<Volume, 'origin' | 'orientation' | 'normal' | 'spacing'>;

/** Patient (LPS, mm) position of voxel (i column, j row, k slice); fractional indices are allowed. */
export function voxelToPatient(volume: Grid, i: number, j: number, k: number): Vec3 {
  const { origin: o, orientation: d, normal: n, spacing: s } = volume;
  const a = i * s[0];
  const b = j * s[1];
  const c = k * s[2];
  return [o[0] + a * d[0] + b * d[3] + c * n[0], o[1] + a * d[1] + b * d[4] + c * n[1], o[2] + a * d[2] + b * d[5] + c * n[2]];
}

/** Inverse of voxelToPatient (fractional voxel indices); exact for non-orthogonal directions too. */
export function patientToVoxel(volume: Grid, p: Vec3): Vec3 {
  const { origin: o, orientation: d, normal: n, spacing: s } = volume;
  // Columns of M are the voxel steps; solve M · [i j k] = p − origin by Cramer's rule.
  const c0: Vec3 = [d[0] * s[0], d[1] * s[0], d[2] * s[0]];
  const c1: Vec3 = [d[3] * s[1], d[4] * s[1], d[5] * s[1]];
  const c2: Vec3 = [n[0] * s[2], n[1] * s[2], n[2] * s[2]];
  const r: Vec3 = [p[0] - o[0], p[1] - o[1], p[2] - o[2]];
  const det = dot(c0, cross(c1, c2));
  if (Math.abs(det) < 1e-12) throw new AppError('GEOMETRY', 'volume grid is degenerate (zero spacing or parallel directions)');
  return [dot(r, cross(c1, c2)) / det, dot(c0, cross(r, c2)) / det, dot(c0, cross(c1, r)) / det];
}

/** One 2D slice as found in the instances, before sorting. */
interface SliceGeometry {
  instance: number;
  frameIndex: number | undefined;
  rows: number;
  columns: number;
  ipp: Vec3;
  iop: Orientation6;
  pixelSpacing: [number, number];
  frameOfReferenceUid: string | undefined;
  instanceNumber: number | undefined;
  tags: FrameTags;
  source: SliceSource;
}

function where(instance: number, frameIndex: number | undefined): string {
  return frameIndex === undefined ? `instance ${instance + 1}` : `instance ${instance + 1} frame ${frameIndex + 1}`;
}

/** Reads geometry of every slice (one per frame) of one instance, preferring per-frame functional groups. */
function slicesOf(parsed: ParsedPart10, instance: number): SliceGeometry[] {
  const ds = parsed.dataset;
  const rows = num(ds, 'Rows');
  const columns = num(ds, 'Columns');
  if (rows === undefined || columns === undefined) throw new AppError('BAD_DICOM', `${where(instance, undefined)} has no Rows/Columns`);
  const frames = num(ds, 'NumberOfFrames') ?? 1;
  const multiFrame = frames > 1 || ds.PerFrameFunctionalGroupsSequence !== undefined;
  const gridOffsets = nums(ds, 'GridFrameOffsetVector', frames);
  const sopInstanceUid = str(ds, 'SOPInstanceUID') ?? '';
  const sopClassUid = str(ds, 'SOPClassUID') ?? '';
  const out: SliceGeometry[] = [];
  for (let f = 0; f < frames; f++) {
    const frameIndex = multiFrame ? f : undefined;
    const fromGroup = (seq: string): NaturalDataset => (multiFrame ? functionalGroup(ds, f, seq) : undefined) ?? ds;
    const iop = nums(fromGroup('PlaneOrientationSequence'), 'ImageOrientationPatient', 6) as Orientation6 | undefined;
    let ipp = nums(fromGroup('PlanePositionSequence'), 'ImagePositionPatient', 3) as Vec3 | undefined;
    const pixelSpacing = nums(fromGroup('PixelMeasuresSequence'), 'PixelSpacing', 2) as [number, number] | undefined;
    if (!iop) throw new AppError('GEOMETRY', `${where(instance, frameIndex)} has no valid ImageOrientationPatient`);
    if (!ipp) throw new AppError('GEOMETRY', `${where(instance, frameIndex)} has no valid ImagePositionPatient`);
    if (!pixelSpacing || !(pixelSpacing[0] > 0 && pixelSpacing[1] > 0)) {
      throw new AppError('GEOMETRY', `${where(instance, frameIndex)} has no valid PixelSpacing`);
    }
    // Legacy multi-frame (e.g. RT Dose) positions frames by offsets along the normal from the one IPP.
    if (gridOffsets && ds.PerFrameFunctionalGroupsSequence === undefined && frames > 1) {
      const n = sliceNormal(iop);
      const off = gridOffsets[f] ?? 0;
      ipp = [ipp[0] + off * n[0], ipp[1] + off * n[1], ipp[2] + off * n[2]];
    }
    const source: SliceSource = { sopInstanceUid, sopClassUid, imagePositionPatient: ipp };
    if (frameIndex !== undefined) source.frameNumber = frameIndex + 1;
    out.push({
      instance,
      frameIndex,
      rows,
      columns,
      ipp,
      iop,
      pixelSpacing,
      frameOfReferenceUid: str(ds, 'FrameOfReferenceUID'),
      instanceNumber: multiFrame ? undefined : num(ds, 'InstanceNumber'),
      tags: frameTags(ds, frameIndex),
      source,
    });
  }
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(x: number): string {
  return Number(x.toFixed(3)).toString();
}

function checkConsistent(slices: SliceGeometry[], tolerance: number): void {
  const first = slices[0] as SliceGeometry;
  const forUids = new Set(slices.map((s) => s.frameOfReferenceUid).filter((u): u is string => !!u));
  if (forUids.size > 1) throw new AppError('GEOMETRY', `series spans ${forUids.size} FrameOfReferenceUIDs`);
  for (const s of slices) {
    const at = where(s.instance, s.frameIndex);
    if (s.rows !== first.rows || s.columns !== first.columns) {
      throw new AppError('GEOMETRY', `different image sizes: ${at} is ${s.rows}×${s.columns}, the first slice ${first.rows}×${first.columns}`);
    }
    if (s.iop.some((v, idx) => Math.abs(v - (first.iop[idx] as number)) > tolerance)) {
      throw new AppError('GEOMETRY', `mixed orientations: ImageOrientationPatient of ${at} differs from the first slice`);
    }
    const ps = s.pixelSpacing;
    if (Math.abs(ps[0] - first.pixelSpacing[0]) > 1e-4 * first.pixelSpacing[0] || Math.abs(ps[1] - first.pixelSpacing[1]) > 1e-4 * first.pixelSpacing[1]) {
      throw new AppError('GEOMETRY', `different PixelSpacing: ${at} has ${ps.map(fmt).join('\\')}, the first slice ${first.pixelSpacing.map(fmt).join('\\')}`);
    }
  }
}

interface SortedStack {
  order: SliceGeometry[];
  sliceSpacing: number;
  /** Only for uneven slices accepted with nonUniformSpacing "resample": mm of each slice from slice 0. */
  sliceOffsets?: number[];
}

interface StackRules {
  tol: { relative: number; absoluteMm: number };
  fallbackSpacing: number;
  nonUniformSpacing: 'reject' | 'resample';
  /** Whether two slices hold the same pixel values (decodes them; only called for duplicates). */
  samePixels(a: SliceGeometry, b: SliceGeometry): boolean;
}

interface Keyed extends PlacedSlice {
  s: SliceGeometry;
}

const RESAMPLE_HINT = 'set preprocessing.nonUniformSpacing to "resample" in the model manifest to resample it to even spacing';

function duplicateError(a: Keyed, b: Keyed, identical: boolean): AppError {
  const what = identical
    ? 'and hold identical pixel data (the same image stored twice under different UIDs): delete one copy from the series'
    : 'with different pixel data: delete the wrong instance or split the series';
  return new AppError('GEOMETRY', `duplicate position: ${a.at} and ${b.at} lie at the same position along the normal (${fmt(a.position)} mm) ${what}`, {
    details: { identicalPixels: identical },
  });
}

/** Refuses several volumes in one series: identifying attributes, repeated positions, interleaved acquisitions. */
function checkOneVolume(keyed: Keyed[], rules: StackRules): void {
  checkIdentifyingAttributes(keyed);
  const groups = groupByPosition(keyed);
  const repeated = groups.find((g) => g.length > 1);
  if (repeated) {
    const explained = explainRepeatedPositions(groups);
    if (explained) throw explained;
    const [a, b] = repeated as [Keyed, Keyed];
    throw duplicateError(a, b, rules.samePixels(a.s, b.s));
  }
  checkOverlappingAcquisitions(keyed);
}

/** Sorts slices along the normal and checks that they form one evenly spaced stack (or, if allowed, an uneven one). */
function sortAlongNormal(slices: SliceGeometry[], normal: Vec3, rules: StackRules): SortedStack {
  const keyed: Keyed[] = slices
    .map((s) => ({ s, at: where(s.instance, s.frameIndex), tags: s.tags, position: dot(s.ipp, normal) }))
    .sort((a, b) => a.position - b.position);
  checkOneVolume(keyed, rules);
  const order = keyed.map((x) => x.s);
  if (order.length === 1) return { order, sliceSpacing: rules.fallbackSpacing };
  const positions = keyed.map((x) => x.position);
  const gaps = positions.slice(1).map((p, idx) => p - (positions[idx] as number));
  const spacing = median(gaps);
  const allowed = rules.tol.relative * spacing + rules.tol.absoluteMm;
  const resample = rules.nonUniformSpacing === 'resample';
  const missingNumbers = missingInstanceNumbers(order.map((s) => s.instanceNumber));
  let uneven = false;
  gaps.forEach((g, idx) => {
    if (Math.abs(g - spacing) <= allowed) return;
    const from = fmt(positions[idx] as number);
    const to = fmt(positions[idx + 1] as number);
    const steps = Math.round(g / spacing);
    if (steps >= 2 && Math.abs(g - steps * spacing) <= allowed * steps) {
      // A hole in the InstanceNumbers says the instances are missing, not spaced out by design.
      if (resample && missingNumbers.length === 0) {
        uneven = true;
        return;
      }
      const numbers = missingNumbers.length > 0 ? `; InstanceNumber ${listValues(missingNumbers, '')} absent from the series` : '';
      const fix = missingNumbers.length > 0 || resample ? 'the series is incomplete: send the missing instances' : `send the missing instances, or if the gap is by design ${RESAMPLE_HINT}`;
      throw new AppError('GEOMETRY', `gap: ${steps - 1} missing slice(s) between positions ${from} and ${to} mm along the normal (spacing ${fmt(spacing)} mm)${numbers}: ${fix}`, {
        details: { missingSlices: steps - 1, missingInstanceNumbers: missingNumbers.slice(0, 20) },
      });
    }
    if (resample) {
      uneven = true;
      return;
    }
    throw new AppError('GEOMETRY', `non-uniform slice spacing: ${fmt(g)} mm between positions ${from} and ${to} mm, median spacing ${fmt(spacing)} mm: ${RESAMPLE_HINT}`);
  });
  // Slices must stack along the normal: an in-plane drift means sheared (e.g. gantry-tilted) geometry.
  const first = order[0] as SliceGeometry;
  for (const s of order) {
    const r: Vec3 = [s.ipp[0] - first.ipp[0], s.ipp[1] - first.ipp[1], s.ipp[2] - first.ipp[2]];
    const along = dot(r, normal);
    const drift = Math.hypot(r[0] - along * normal[0], r[1] - along * normal[1], r[2] - along * normal[2]);
    if (drift > allowed + 1e-3 * Math.abs(along)) {
      throw new AppError('GEOMETRY', `slices are not stacked along the normal: ${where(s.instance, s.frameIndex)} is offset ${fmt(drift)} mm in-plane (sheared or tilted series)`);
    }
  }
  if (!uneven) return { order, sliceSpacing: spacing };
  const start = positions[0] as number;
  const sliceOffsets = positions.map((p) => p - start);
  // The mean gap: the spacing a resampler keeps when it makes the slices even over the same extent.
  return { order, sliceSpacing: (sliceOffsets[sliceOffsets.length - 1] as number) / (order.length - 1), sliceOffsets };
}

/**
 * Drops later copies of an instance (same SOPInstanceUID and position), e.g. a file received twice. Two instances
 * that share a SOPInstanceUID but not a position are an error: one UID cannot name two images.
 */
function withoutRepeatedInstances(instances: ParsedPart10[]): ParsedPart10[] {
  const seen = new Map<string, number>();
  const kept: ParsedPart10[] = [];
  instances.forEach((p, idx) => {
    const uid = str(p.dataset, 'SOPInstanceUID');
    if (!uid) {
      kept.push(p);
      return;
    }
    const firstIdx = seen.get(uid);
    if (firstIdx === undefined) {
      seen.set(uid, idx);
      kept.push(p);
      return;
    }
    const firstIpp = nums((instances[firstIdx] as ParsedPart10).dataset, 'ImagePositionPatient', 3);
    const ipp = nums(p.dataset, 'ImagePositionPatient', 3);
    if (JSON.stringify(firstIpp) !== JSON.stringify(ipp)) {
      throw new AppError('GEOMETRY', `${where(firstIdx, undefined)} and ${where(idx, undefined)} share one SOPInstanceUID but lie at different positions: the series is corrupt, re-send it from the modality`);
    }
  });
  return kept;
}

function sameValues(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Builds one volume from the instances of a series (single-frame, enhanced multi-frame or both).
 * Throws GEOMETRY when the slices do not form one regular grid — several echoes, phases, b-values or stacks,
 * repeated or duplicate positions, missing instances, uneven gaps (unless nonUniformSpacing is "resample"), mixed
 * orientations or sizes; BAD_DICOM / UNSUPPORTED_TRANSFER_SYNTAX / TOO_LARGE from pixel decoding.
 */
export function buildVolume(allInstances: ParsedPart10[], options: BuildVolumeOptions = {}): Volume {
  const limits = options.decodeLimits ?? DEFAULT_DECODE_LIMITS;
  if (allInstances.length === 0) throw new AppError('GEOMETRY', 'no slices: the series has no instances');
  const instances = withoutRepeatedInstances(allInstances);
  const slices = instances.flatMap((p, idx) => slicesOf(p, idx));
  if (slices.length === 0) throw new AppError('GEOMETRY', 'no slices: the instances hold no frames');
  checkConsistent(slices, options.orientationTolerance ?? DEFAULTS.orientationTolerance);
  const first = slices[0] as SliceGeometry;
  const { rows, columns } = first;
  // Check the size before decoding anything.
  if (rows * columns * slices.length > limits.maxVoxels) {
    throw new AppError('TOO_LARGE', `volume of ${columns}×${rows}×${slices.length} voxels exceeds the limit of ${limits.maxVoxels}`);
  }
  const normal = sliceNormal(first.iop);
  const ds0 = instances[0]?.dataset ?? {};
  const fallbackSpacing = num(ds0, 'SpacingBetweenSlices') ?? num(ds0, 'SliceThickness') ?? 1;
  const pixelsOf = (s: SliceGeometry): Float32Array | undefined => decodeFrames(instances[s.instance] as ParsedPart10, limits).frames[s.frameIndex ?? 0];
  const { order, sliceSpacing, sliceOffsets } = sortAlongNormal(slices, normal, {
    tol: options.spacingTolerance ?? DEFAULTS.spacingTolerance,
    fallbackSpacing,
    nonUniformSpacing: options.nonUniformSpacing ?? 'reject',
    samePixels: (a, b) => sameValues(pixelsOf(a), pixelsOf(b)),
  });

  const pixelsPerSlice = rows * columns;
  const data = new Float32Array(pixelsPerSlice * order.length);
  const rank = new Map<SliceGeometry, number>(order.map((s, k) => [s, k]));
  instances.forEach((parsed, idx) => {
    const decoded = decodeFrames(parsed, limits);
    const mine = slices.filter((s) => s.instance === idx);
    if (decoded.frames.length !== mine.length) {
      throw new AppError('BAD_DICOM', `${where(idx, undefined)} decodes to ${decoded.frames.length} frames but declares ${mine.length}`);
    }
    mine.forEach((s, f) => data.set(decoded.frames[f] as Float32Array, (rank.get(s) as number) * pixelsPerSlice));
  });

  const orderedFirst = order[0] as SliceGeometry;
  const volume: Volume = {
    columns,
    rows,
    slices: order.length,
    // PixelSpacing is (row spacing, column spacing): the step along colDir first, along rowDir second.
    spacing: [first.pixelSpacing[1], first.pixelSpacing[0], sliceSpacing],
    origin: [...orderedFirst.ipp],
    orientation: [...first.iop],
    normal,
    frameOfReferenceUid: first.frameOfReferenceUid ?? slices.find((s) => s.frameOfReferenceUid)?.frameOfReferenceUid ?? '',
    data,
    sources: order.map((s) => s.source),
  };
  if (sliceOffsets) volume.sliceOffsets = sliceOffsets;
  checkFinite(volume);
  return volume;
}

/**
 * A rescale that overflows (RescaleSlope 1e308 makes every value Infinity) or a voxel size of 0 or Infinity would
 * otherwise run through the model and report "0.0 mL" or NaN: refuse them here, where the cause is known.
 */
function checkFinite(volume: Volume): void {
  const [sx, sy, sz] = volume.spacing;
  if (![sx, sy, sz].every((s) => Number.isFinite(s) && s > 0)) {
    throw new AppError('GEOMETRY', `voxel size ${volume.spacing.map(fmt).join(' × ')} mm is not usable: PixelSpacing and the slice spacing (positions, SpacingBetweenSlices or SliceThickness) must be finite and above 0`);
  }
  const bad = countNonFinite(volume.data);
  if (bad > 0) {
    throw new AppError('BAD_DICOM', `${bad} of ${volume.data.length} pixel values are not finite after the modality rescale: RescaleSlope/RescaleIntercept are out of range`);
  }
}
