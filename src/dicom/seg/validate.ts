/**
 * Input checks for buildSegmentation. Strict on write: anything that would give an invalid or misleading SEG is
 * refused with AppError('SEG_INVALID', reason). Reasons name attributes and indices, never header values.
 */
import type { Code } from '../../domain/codes';
import { AppError } from '../../domain/errors';
import type { Vec3 } from '../../domain/study';
import type { SegOptions } from './types';

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
const CODE_STRING_PATTERN = /^[A-Z0-9_][A-Z0-9 _]{0,15}$/;
/** LO and SH are limited to 64 and 16 characters; LO is what most descriptive strings here use. */
const LO_MAX = 64;
const SH_MAX = 16;
/** Positions closer than this along the normal are the same slice (mm). */
const SAME_POSITION_MM = 1e-4;

export function segInvalid(reason: string): AppError {
  return new AppError('SEG_INVALID', `cannot build segmentation: ${reason}`);
}

export function isValidUid(uid: unknown): uid is string {
  return typeof uid === 'string' && uid.length <= 64 && UID_PATTERN.test(uid);
}

function requireUid(uid: unknown, what: string): void {
  if (!isValidUid(uid)) throw segInvalid(`${what} is not a valid DICOM UID`);
}

function requireText(value: unknown, what: string, max = LO_MAX): void {
  if (typeof value !== 'string' || value.trim() === '') throw segInvalid(`${what} is missing`);
  if (value.length > max) throw segInvalid(`${what} is longer than ${max} characters`);
  if (value.includes('\\')) throw segInvalid(`${what} contains a backslash`);
}

function requireCode(code: Code | undefined, what: string): void {
  if (!code) throw segInvalid(`${what} is missing`);
  requireText(code.value, `${what} code value`, SH_MAX);
  requireText(code.scheme, `${what} coding scheme`, SH_MAX);
  requireText(code.meaning, `${what} code meaning`);
  if (code.scheme === 'SRT') throw segInvalid(`${what} uses retired scheme SRT; use SCT`);
}

function requireFinite(values: readonly number[], what: string): void {
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw segInvalid(`${what} has non-finite values`);
}

function requireInteger(value: number, what: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw segInvalid(`${what} must be an integer in ${min}..${max}`);
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Checks everything except the label values present in the map (found while scanning it, see sop.ts). */
export function validateOptions(options: SegOptions): void {
  const { source, labelMap, segments } = options;
  requireUid(options.seriesInstanceUid, 'SEG SeriesInstanceUID');
  requireUid(options.sopInstanceUid, 'SEG SOPInstanceUID');
  if (options.seriesInstanceUid === source.seriesInstanceUid) throw segInvalid('SEG SeriesInstanceUID equals the source series UID');
  requireUid(source.seriesInstanceUid, 'source SeriesInstanceUID');
  requireUid(source.frameOfReferenceUid, 'source FrameOfReferenceUID');
  requireUid(source.dataset.StudyInstanceUID, 'source StudyInstanceUID');

  const type = options.segmentationType ?? 'BINARY';
  if (!['BINARY', 'LABELMAP', 'FRACTIONAL'].includes(type)) throw segInvalid(`unknown segmentation type ${String(type)}`);
  if (type === 'FRACTIONAL') {
    if (labelMap) throw segInvalid('FRACTIONAL takes probabilities, not a label map');
    if (!options.grid) throw segInvalid('FRACTIONAL needs grid (rows and columns of the probability maps)');
    if (!options.probabilities) throw segInvalid('FRACTIONAL needs probabilities');
  } else {
    if (!labelMap) throw segInvalid(`${type} needs a label map`);
    if (options.probabilities) throw segInvalid(`${type} takes a label map, not probabilities`);
  }
  const grid = labelMap ?? options.grid!;
  requireInteger(grid.rows, 'label map rows', 1, 65535);
  requireInteger(grid.columns, 'label map columns', 1, 65535);
  if (labelMap && labelMap.slices !== source.slices.length) {
    throw segInvalid(`label map has ${labelMap.slices} slices but the source has ${source.slices.length}`);
  }
  if (source.slices.length < 1) throw segInvalid('the source has no slices');
  const expected = grid.rows * grid.columns * source.slices.length;
  if (labelMap && labelMap.data.length !== expected) {
    throw segInvalid(`label map has ${labelMap.data.length} voxels, expected rows*columns*slices = ${expected}`);
  }
  const mapped = new Set<number>();
  (options.probabilities ?? []).forEach((map, index) => {
    requireInteger(map.segmentNumber, `probability map ${index + 1} segment number`, 1, segments.length);
    if (mapped.has(map.segmentNumber)) throw segInvalid(`probability map ${index + 1} repeats segment ${map.segmentNumber}`);
    mapped.add(map.segmentNumber);
    if (map.data.length !== expected) {
      throw segInvalid(`probability map of segment ${map.segmentNumber} has ${map.data.length} values, expected ${expected}`);
    }
  });

  requireFinite(source.orientation, 'ImageOrientationPatient');
  const row: Vec3 = [source.orientation[0], source.orientation[1], source.orientation[2]];
  const col: Vec3 = [source.orientation[3], source.orientation[4], source.orientation[5]];
  if (Math.abs(Math.hypot(...row) - 1) > 1e-3 || Math.abs(Math.hypot(...col) - 1) > 1e-3 || Math.abs(dot(row, col)) > 1e-3) {
    throw segInvalid('ImageOrientationPatient is not two orthogonal unit vectors');
  }
  requireFinite(source.pixelSpacing, 'PixelSpacing');
  if (!(source.pixelSpacing[0] > 0 && source.pixelSpacing[1] > 0)) throw segInvalid('PixelSpacing must be positive');
  if (source.sliceThickness !== undefined && !(Number.isFinite(source.sliceThickness) && source.sliceThickness > 0)) {
    throw segInvalid('SliceThickness must be positive when given');
  }

  const normal = cross(row, col);
  let previous: number | undefined;
  let direction = 0;
  source.slices.forEach((slice, k) => {
    requireUid(slice.sopInstanceUid, `source slice ${k} SOPInstanceUID`);
    requireUid(slice.sopClassUid, `source slice ${k} SOPClassUID`);
    if (slice.frameNumber !== undefined) requireInteger(slice.frameNumber, `source slice ${k} frame number`, 1, 2 ** 31 - 1);
    if (slice.imagePositionPatient.length !== 3) throw segInvalid(`source slice ${k} ImagePositionPatient needs 3 values`);
    requireFinite(slice.imagePositionPatient, `source slice ${k} ImagePositionPatient`);
    // Frames are indexed by slice order, so that order must be monotonic along the normal.
    const position = dot(slice.imagePositionPatient, normal);
    if (previous !== undefined) {
      const step = position - previous;
      if (Math.abs(step) < SAME_POSITION_MM) throw segInvalid(`source slices ${k - 1} and ${k} are at the same position`);
      const sign = Math.sign(step);
      if (direction !== 0 && sign !== direction) throw segInvalid(`source slice ${k} breaks the sort order along the normal`);
      direction = sign;
    }
    previous = position;
  });

  if (segments.length < 1) throw segInvalid('no segment definitions');
  const seen = new Set<number>();
  segments.forEach((segment, index) => {
    const what = `segment ${index + 1}`;
    requireInteger(segment.labelValue, `${what} label value`, 1, 255);
    if (seen.has(segment.labelValue)) throw segInvalid(`${what} repeats label value ${segment.labelValue}`);
    seen.add(segment.labelValue);
    requireText(segment.label, `${what} label`);
    requireCode(segment.category, `${what} category`);
    requireCode(segment.type, `${what} type`);
    if (segment.typeModifier) requireCode(segment.typeModifier, `${what} type modifier`);
    const lab = segment.recommendedDisplayCIELabValue;
    if (lab && !(lab.length === 3 && lab.every((v) => Number.isInteger(v) && v >= 0 && v <= 65535))) {
      throw segInvalid(`${what} RecommendedDisplayCIELabValue must be 3 integers in 0..65535`);
    }
  });

  requireInteger(options.seriesNumber, 'SeriesNumber', 0, 2 ** 31 - 1);
  requireInteger(options.instanceNumber, 'InstanceNumber', 0, 2 ** 31 - 1);
  if (!CODE_STRING_PATTERN.test(options.contentLabel)) {
    throw segInvalid('ContentLabel must be 1-16 characters of A-Z, 0-9, space or underscore');
  }
  requireText(options.algorithm.name, 'algorithm name');
  requireText(options.algorithm.version, 'algorithm version');
  requireText(options.equipment.manufacturer, 'Manufacturer');
  requireText(options.equipment.manufacturerModelName, 'ManufacturerModelName');
  requireText(options.equipment.deviceSerialNumber, 'DeviceSerialNumber');
  if (options.equipment.softwareVersions.length < 1) throw segInvalid('SoftwareVersions is empty');
  options.equipment.softwareVersions.forEach((v, i) => requireText(v, `SoftwareVersions value ${i + 1}`));
  if (Number.isNaN(options.contentDateTime.getTime())) throw segInvalid('contentDateTime is not a valid date');
}
