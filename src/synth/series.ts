import type { NaturalDataset } from 'dcmjs';
import { AppError } from '../domain/errors';
import { deterministicUid } from '../domain/identity';
import type { Orientation6, Vec3 } from '../domain/study';
import type { LabelMap } from '../domain/volume';
import { IMPLEMENTATION, writePart10 } from '../dicom/part10';
import { rasToNiftiVoxel, niftiVoxelToRas, type NiftiVolume } from './nifti';
import { seededRandom } from './seeded-random';

/**
 * Synthetic MR series from a NIfTI volume: the volume is resampled (trilinear) onto a DICOM grid in LPS and written
 * as MR Image Storage instances. Conventions (shared with the models trained on these series):
 *  - axial    IOP [1,0,0, 0,1,0]: columns run right→left (+x LPS), rows anterior→posterior (+y); slices go
 *             inferior→superior (the normal is +z);
 *  - sagittal IOP [0,1,0, 0,0,-1]; coronal IOP [1,0,0, 0,0,-1];
 *  - oblique  the axial plane rotated by obliqueDegrees about the left–right (x) axis;
 *  - any plane may be tilted further by rotationDegrees (about x, then y, then z).
 * NIfTI is RAS, DICOM is LPS: LPS = (−x, −y, z).
 */

export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

export type SeriesPlane = 'axial' | 'sagittal' | 'coronal' | 'oblique';

export interface SyntheticPatient {
  /** DICOM PN, e.g. "CLINICAL-AI^DEMO". */
  name: string;
  id: string;
  /** YYYYMMDD. */
  birthDate: string;
  sex: 'M' | 'F' | 'O';
}

export interface SeriesGeometryOptions {
  plane: SeriesPlane;
  /** Distance between slice centres (mm); also the in-plane pixel spacing unless pixelSpacingMm is given. */
  spacingMm: number;
  pixelSpacingMm?: number;
  /** Rotation of the oblique plane about the L-R axis (degrees); default 20. */
  obliqueDegrees?: number;
  /**
   * Tilts the plane's row and column directions by rotations (degrees, right-handed) about the patient x (L), y (P)
   * and z (S) axes, applied in that order; e.g. [20, 20, 0] on an axial plane gives a double-oblique series.
   */
  rotationDegrees?: Vec3;
  /** Image size; derived from the volume's extent when absent. The grid is centred on the volume. */
  rows?: number;
  columns?: number;
  /** Slice count; derived from the volume's extent along the normal when absent. */
  slices?: number;
}

export interface MakeSeriesOptions extends SeriesGeometryOptions {
  sliceThicknessMm?: number;
  modality?: 'MR';
  patient: SyntheticPatient;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  seriesDescription: string;
  seriesNumber?: number;
  bodyPart?: string;
  /** All UIDs not given explicitly are derived from this seed, so the same options give the same files. */
  uidSeed: string;
  /**
   * When set, the acquisition order (InstanceNumber) and the order of the returned files are a seeded permutation
   * of the spatial order, so readers that sort by file order or InstanceNumber get it wrong.
   */
  shuffleSeed?: number;
  /** YYYYMMDD / HHMMSS written as study, series and content date/time; fixed defaults keep files reproducible. */
  studyDate?: string;
  studyTime?: string;
}

/** The DICOM grid of a synthetic series, slice k at origin + k · sliceSpacing · normal. */
export interface SeriesGeometry {
  rows: number;
  columns: number;
  slices: number;
  /** DICOM PixelSpacing order: [row spacing (along colDir), column spacing (along rowDir)]. */
  pixelSpacing: [number, number];
  sliceSpacing: number;
  orientation: Orientation6;
  normal: Vec3;
  /** ImagePositionPatient of slice 0. */
  origin: Vec3;
}

function directions(plane: SeriesPlane, obliqueDegrees: number): { row: Vec3; col: Vec3 } {
  switch (plane) {
    case 'axial':
      return { row: [1, 0, 0], col: [0, 1, 0] };
    case 'sagittal':
      return { row: [0, 1, 0], col: [0, 0, -1] };
    case 'coronal':
      return { row: [1, 0, 0], col: [0, 0, -1] };
    case 'oblique': {
      const t = (obliqueDegrees * Math.PI) / 180;
      return { row: [1, 0, 0], col: [0, Math.cos(t), Math.sin(t)] };
    }
  }
}

/** Rz · Ry · Rx applied to v (angles in degrees). */
function rotate(v: Vec3, [ax, ay, az]: Vec3): Vec3 {
  const [a, b, c] = [ax, ay, az].map((d) => (d * Math.PI) / 180) as Vec3;
  const x1: Vec3 = [v[0], v[1] * Math.cos(a) - v[2] * Math.sin(a), v[1] * Math.sin(a) + v[2] * Math.cos(a)];
  const y1: Vec3 = [x1[0] * Math.cos(b) + x1[2] * Math.sin(b), x1[1], -x1[0] * Math.sin(b) + x1[2] * Math.cos(b)];
  return [y1[0] * Math.cos(c) - y1[1] * Math.sin(c), y1[0] * Math.sin(c) + y1[1] * Math.cos(c), y1[2]];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** LPS (mm) position of every corner voxel centre of a NIfTI volume. */
function cornersLps(vol: Pick<NiftiVolume, 'dims' | 'affine'>): Vec3[] {
  const out: Vec3[] = [];
  const [nx, ny, nz] = vol.dims;
  for (const x of [0, nx - 1]) {
    for (const y of [0, ny - 1]) {
      for (const z of [0, nz - 1]) {
        const ras = niftiVoxelToRas(vol, x, y, z);
        out.push([-ras[0], -ras[1], ras[2]]);
      }
    }
  }
  return out;
}

/** Plans a grid that covers the volume (or is centred on it, with the requested sizes). */
export function planSeriesGeometry(vol: Pick<NiftiVolume, 'dims' | 'affine'>, options: SeriesGeometryOptions): SeriesGeometry {
  if (!(options.spacingMm > 0)) throw new AppError('BAD_REQUEST', 'spacingMm must be positive');
  const pixel = options.pixelSpacingMm ?? options.spacingMm;
  if (!(pixel > 0)) throw new AppError('BAD_REQUEST', 'pixelSpacingMm must be positive');
  const base = directions(options.plane, options.obliqueDegrees ?? 20);
  const tilt = options.rotationDegrees;
  const { row, col } = tilt ? { row: rotate(base.row, tilt), col: rotate(base.col, tilt) } : base;
  const normal = cross(row, col);
  const corners = cornersLps(vol);
  const span = (axis: Vec3): { min: number; max: number } => {
    const d = corners.map((c) => dot(c, axis));
    return { min: Math.min(...d), max: Math.max(...d) };
  };
  const sr = span(row);
  const sc = span(col);
  const sn = span(normal);
  const count = (s: { min: number; max: number }, step: number): number => Math.floor((s.max - s.min) / step + 1e-6) + 1;
  const columns = options.columns ?? count(sr, pixel);
  const rows = options.rows ?? count(sc, pixel);
  const slices = options.slices ?? count(sn, options.spacingMm);
  if (![columns, rows, slices].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new AppError('BAD_REQUEST', `series size ${columns}×${rows}×${slices} is not a positive integer size`);
  }
  // Centre the grid on the volume's extent along each axis.
  const start = (s: { min: number; max: number }, n: number, step: number): number => (s.min + s.max) / 2 - ((n - 1) * step) / 2;
  const a = start(sr, columns, pixel);
  const b = start(sc, rows, pixel);
  const c = start(sn, slices, options.spacingMm);
  const origin: Vec3 = [0, 1, 2].map((i) => a * (row[i] as number) + b * (col[i] as number) + c * (normal[i] as number)) as Vec3;
  return {
    rows,
    columns,
    slices,
    pixelSpacing: [pixel, pixel],
    sliceSpacing: options.spacingMm,
    orientation: [...row, ...col] as Orientation6,
    normal,
    origin,
  };
}

/** LPS position of pixel (i column, j row) of slice k. */
export function seriesVoxelToPatient(g: SeriesGeometry, i: number, j: number, k: number): Vec3 {
  const o = g.orientation;
  const a = i * g.pixelSpacing[1];
  const b = j * g.pixelSpacing[0];
  const c = k * g.sliceSpacing;
  return [0, 1, 2].map((d) => (g.origin[d] as number) + a * (o[d] as number) + b * (o[d + 3] as number) + c * (g.normal[d] as number)) as Vec3;
}

type Sampler = (x: number, y: number, z: number) => number;

function trilinear(vol: NiftiVolume): Sampler {
  const [nx, ny, nz] = vol.dims;
  const d = vol.data;
  const at = (x: number, y: number, z: number): number => (d[x + nx * (y + ny * z)] as number);
  return (x, y, z) => {
    if (x < 0 || y < 0 || z < 0 || x > nx - 1 || y > ny - 1 || z > nz - 1) return 0;
    const x0 = Math.min(Math.floor(x), nx - 2 < 0 ? 0 : nx - 2);
    const y0 = Math.min(Math.floor(y), ny - 2 < 0 ? 0 : ny - 2);
    const z0 = Math.min(Math.floor(z), nz - 2 < 0 ? 0 : nz - 2);
    const x1 = Math.min(x0 + 1, nx - 1);
    const y1 = Math.min(y0 + 1, ny - 1);
    const z1 = Math.min(z0 + 1, nz - 1);
    const fx = x - x0;
    const fy = y - y0;
    const fz = z - z0;
    const c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx;
    const c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx;
    const c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx;
    const c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx;
    return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
  };
}

function nearest(vol: NiftiVolume): Sampler {
  const [nx, ny, nz] = vol.dims;
  return (x, y, z) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    const zi = Math.round(z);
    if (xi < 0 || yi < 0 || zi < 0 || xi >= nx || yi >= ny || zi >= nz) return 0;
    return vol.data[xi + nx * (yi + ny * zi)] as number;
  };
}

/** Samples the volume on the series grid; out[k] holds slice k (spatial order) row by row. */
function resample(vol: NiftiVolume, g: SeriesGeometry, sample: Sampler): Float32Array[] {
  const toVoxel = rasToNiftiVoxel(vol);
  // The map LPS grid → NIfTI voxel is affine: find the voxel of (0,0,0) and the step per i, j, k once.
  const at = (i: number, j: number, k: number): Vec3 => {
    const p = seriesVoxelToPatient(g, i, j, k);
    return toVoxel([-p[0], -p[1], p[2]]);
  };
  const v0 = at(0, 0, 0);
  const step = (v: Vec3): Vec3 => [v[0] - v0[0], v[1] - v0[1], v[2] - v0[2]];
  const [di, dj, dk] = [step(at(1, 0, 0)), step(at(0, 1, 0)), step(at(0, 0, 1))];
  const out: Float32Array[] = [];
  for (let k = 0; k < g.slices; k++) {
    const slice = new Float32Array(g.rows * g.columns);
    for (let j = 0; j < g.rows; j++) {
      const x = v0[0] + j * dj[0] + k * dk[0];
      const y = v0[1] + j * dj[1] + k * dk[1];
      const z = v0[2] + j * dj[2] + k * dk[2];
      for (let i = 0; i < g.columns; i++) {
        slice[j * g.columns + i] = sample(x + i * di[0], y + i * di[1], z + i * di[2]);
      }
    }
    out.push(slice);
  }
  return out;
}

/**
 * Nearest-neighbour resampling of a label volume (e.g. a brain mask) onto the grid of a series made with the same
 * geometry options, in the same slice order as buildVolume produces (along the normal).
 * toLabel maps a source value to a label (default: value > 0 → 1).
 */
export function resampleLabelsToSeries(labels: NiftiVolume, geometry: SeriesGeometry, toLabel: (value: number) => number = (v) => (v > 0 ? 1 : 0)): LabelMap {
  const slices = resample(labels, geometry, nearest(labels));
  const data = new Uint8Array(geometry.rows * geometry.columns * geometry.slices);
  slices.forEach((s, k) => {
    const base = k * s.length;
    for (let p = 0; p < s.length; p++) data[base + p] = Math.max(0, Math.min(255, Math.round(toLabel(s[p] as number))));
  });
  return { columns: geometry.columns, rows: geometry.rows, slices: geometry.slices, data };
}

function permutation(n: number, seed: number | undefined): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (seed === undefined) return order;
  const rnd = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** DS values must fit 16 characters. */
function ds(x: number): number {
  const r = Number(x.toPrecision(10));
  return Object.is(r, -0) ? 0 : r;
}

interface PixelEncoding {
  signed: boolean;
  scale: number;
}

/** Integer-valued data that fits 16 bits is stored as is; anything else is scaled into 0…4095. */
function chooseEncoding(slices: Float32Array[]): PixelEncoding & { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (const s of slices) {
    for (const v of s) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (integral && Math.abs(v - Math.round(v)) > 1e-3) integral = false;
    }
  }
  if (integral && min >= 0 && max <= 65535) return { signed: false, scale: 1, min, max };
  if (integral && min >= -32768 && max <= 32767) return { signed: true, scale: 1, min, max };
  const scale = max > 0 ? 4095 / max : 1;
  return { signed: min < 0, scale, min: min * scale, max: max * scale };
}

/**
 * Generates an MR series from a NIfTI volume; returns Part 10 files (Explicit VR Little Endian). Values are
 * trilinearly interpolated and rounded to integers, so integer templates keep their scale.
 */
export function makeSeries(volumeRas: NiftiVolume, options: MakeSeriesOptions): Uint8Array[] {
  const geometry = planSeriesGeometry(volumeRas, options);
  const slices = resample(volumeRas, geometry, trilinear(volumeRas));
  const enc = chooseEncoding(slices);
  const seed = options.uidSeed;
  const studyUid = options.studyInstanceUid ?? deterministicUid(seed, 'study');
  const seriesUid = options.seriesInstanceUid ?? deterministicUid(`${seed}|${studyUid}|${options.seriesDescription}`, 'series');
  const frameOfReferenceUid = deterministicUid(`${seed}|${studyUid}`, 'frame-of-reference');
  const date = options.studyDate ?? '20200101';
  const time = options.studyTime ?? '120000';
  const thickness = options.sliceThicknessMm ?? options.spacingMm;
  const lo = Math.round(enc.min);
  const hi = Math.round(enc.max);
  // acquisition[k] = position in acquisition order (InstanceNumber − 1) of spatial slice k.
  const acquisitionOrder = permutation(geometry.slices, options.shuffleSeed);
  const files = new Array<Uint8Array>(geometry.slices);
  acquisitionOrder.forEach((k, n) => {
    const src = slices[k] as Float32Array;
    const pixels = enc.signed ? new Int16Array(src.length) : new Uint16Array(src.length);
    for (let p = 0; p < src.length; p++) pixels[p] = Math.round((src[p] as number) * enc.scale);
    const ipp = seriesVoxelToPatient(geometry, 0, 0, k);
    const dataset: NaturalDataset = {
      SpecificCharacterSet: 'ISO_IR 100',
      ImageType: ['DERIVED', 'SECONDARY', 'OTHER'],
      InstanceCreationDate: date,
      InstanceCreationTime: time,
      SOPClassUID: MR_IMAGE_STORAGE,
      SOPInstanceUID: deterministicUid(`${seriesUid}|${k}`, 'sop-instance'),
      StudyDate: date,
      SeriesDate: date,
      ContentDate: date,
      StudyTime: time,
      SeriesTime: time,
      ContentTime: time,
      AccessionNumber: '',
      Modality: options.modality ?? 'MR',
      Manufacturer: 'clinical-ai synthetic',
      ReferringPhysicianName: '',
      StudyDescription: 'Synthetic MR study',
      SeriesDescription: options.seriesDescription,
      ManufacturerModelName: 'synth',
      DerivationDescription: 'Resampled from a NIfTI template volume',
      PatientName: options.patient.name,
      PatientID: options.patient.id,
      PatientBirthDate: options.patient.birthDate,
      PatientSex: options.patient.sex,
      BodyPartExamined: options.bodyPart ?? 'HEAD',
      ScanningSequence: ['RM'],
      SequenceVariant: ['NONE'],
      ScanOptions: '',
      MRAcquisitionType: '3D',
      SliceThickness: ds(thickness),
      RepetitionTime: 20,
      EchoTime: 4,
      EchoTrainLength: 1,
      SpacingBetweenSlices: ds(geometry.sliceSpacing),
      SoftwareVersions: IMPLEMENTATION.versionName,
      PatientPosition: 'HFS',
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      StudyID: '1',
      SeriesNumber: options.seriesNumber ?? 1,
      AcquisitionNumber: 1,
      InstanceNumber: n + 1,
      ImagePositionPatient: ipp.map(ds),
      ImageOrientationPatient: geometry.orientation.map(ds),
      FrameOfReferenceUID: frameOfReferenceUid,
      PositionReferenceIndicator: '',
      SliceLocation: ds(dot(ipp, geometry.normal)),
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: geometry.rows,
      Columns: geometry.columns,
      PixelSpacing: geometry.pixelSpacing.map(ds),
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: enc.signed ? 1 : 0,
      WindowCenter: ds((lo + hi) / 2),
      WindowWidth: ds(Math.max(1, hi - lo)),
      PixelData: pixels.buffer,
      _vrMap: { PixelData: 'OW' },
    };
    files[n] = writePart10(dataset, IMPLEMENTATION);
  });
  return files;
}
