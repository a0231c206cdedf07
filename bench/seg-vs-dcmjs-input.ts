/**
 * Inputs shared by bench/seg-vs-dcmjs.ts and its per-encoder driver: a synthetic CT series written as single-frame
 * Part 10 files, and a 5-segment label map on the same grid. Both are deterministic, so the parent can rebuild the
 * expected masks without keeping the children's data.
 */
import type { NaturalDataset } from 'dcmjs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Vec3 } from '../src/domain/study';
import { writePart10, IMPLEMENTATION } from '../src/dicom/part10';

export const COLUMNS = 512;
export const ROWS = 512;
export const SEGMENTS = 5;
export const SLICE_SPACING_MM = 1.25;
export const PIXEL_SPACING_MM = 0.7;
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const STUDY_UID = '2.25.31415926535897932384626433832795028841';
export const SOURCE_SERIES_UID = '2.25.27182818284590452353602874713526624977';
export const FRAME_OF_REFERENCE_UID = '2.25.16180339887498948482045868343656381177';

export function sourceSopInstanceUid(k: number): string {
  return `${SOURCE_SERIES_UID}.${k + 1}`;
}

/** Slice k lies at z = k * spacing: ascending along the normal of an axial orientation. */
export function slicePosition(k: number): Vec3 {
  return [-(COLUMNS / 2) * PIXEL_SPACING_MM, -(ROWS / 2) * PIXEL_SPACING_MM, k * SLICE_SPACING_MM];
}

export function sourceFile(dir: string, k: number): string {
  return path.join(dir, `ct-${String(k).padStart(4, '0')}.dcm`);
}

/** A CT-like 16-bit slice: a water disc in air with a brighter core, so the files are not trivially uniform. */
function ctPixels(k: number): Uint16Array {
  const pixels = new Uint16Array(ROWS * COLUMNS);
  for (let j = 0; j < ROWS; j++) {
    for (let i = 0; i < COLUMNS; i++) {
      const r = Math.hypot(i - COLUMNS / 2, j - ROWS / 2);
      // Stored values with intercept -1024: air ~0, water ~1024, "bone" ~2000.
      pixels[j * COLUMNS + i] = r > 240 ? 24 : r < 60 + (k % 20) ? 2000 : 1024 + ((i * 7 + j * 13 + k) & 31);
    }
  }
  return pixels;
}

export function sourceDataset(k: number): NaturalDataset {
  return {
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: sourceSopInstanceUid(k),
    StudyInstanceUID: STUDY_UID,
    SeriesInstanceUID: SOURCE_SERIES_UID,
    FrameOfReferenceUID: FRAME_OF_REFERENCE_UID,
    Modality: 'CT',
    PatientName: 'BENCH^SEG',
    PatientID: 'BENCH-0001',
    PatientBirthDate: '19700101',
    PatientSex: 'O',
    StudyDate: '20260101',
    StudyTime: '120000',
    AccessionNumber: 'BENCH1',
    ReferringPhysicianName: '',
    StudyID: '1',
    SeriesNumber: 1,
    InstanceNumber: k + 1,
    Manufacturer: 'Synthetic',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    ImagePositionPatient: slicePosition(k),
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    PixelSpacing: [PIXEL_SPACING_MM, PIXEL_SPACING_MM],
    SliceThickness: SLICE_SPACING_MM,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ROWS,
    Columns: COLUMNS,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    RescaleIntercept: -1024,
    RescaleSlope: 1,
    WindowCenter: 40,
    WindowWidth: 400,
    PixelData: ctPixels(k).buffer,
    _vrMap: { PixelData: 'OW' },
  };
}

export function sourcePart10(k: number): Uint8Array {
  return writePart10(sourceDataset(k), IMPLEMENTATION);
}

export function readSources(dir: string, slices: number): Uint8Array[] {
  return Array.from({ length: slices }, (_, k) => new Uint8Array(readFileSync(sourceFile(dir, k))));
}

/**
 * Nested ellipsoidal shells around a point near the volume centre: label 5 innermost, 1 outermost, 0 outside. The z axis is
 * squashed so every label reaches most slices (a worst case for the number of frames), and the outer shells are
 * cut by the slab so its ends are not empty.
 */
export function labelMap(slices: number): Uint8Array {
  const pixels = ROWS * COLUMNS;
  const data = new Uint8Array(pixels * slices);
  const r2 = new Float64Array(pixels);
  for (let j = 0; j < ROWS; j++) {
    for (let i = 0; i < COLUMNS; i++) r2[j * COLUMNS + i] = (i - COLUMNS / 2 + 0.5) ** 2 + (j - ROWS / 2 + 0.5) ** 2;
  }
  // Off-centre in z, so a mask put on the mirrored slice does not match by symmetry.
  const zCentre = 0.45 * slices;
  const zScale = 136 / Math.max(1, slices);
  for (let k = 0; k < slices; k++) {
    const dz2 = ((k + 0.5 - zCentre) * zScale) ** 2;
    const base = k * pixels;
    for (let p = 0; p < pixels; p++) {
      const radius = Math.sqrt((r2[p] ?? 0) + dz2);
      data[base + p] = radius >= 225 ? 0 : SEGMENTS - Math.floor(radius / 45);
    }
  }
  return data;
}
