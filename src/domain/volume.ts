import type { Orientation6, Vec3 } from './study';

/** One slice of a volume and the source instance it came from (frame 1-based when the source is multi-frame). */
export interface SliceSource {
  sopInstanceUid: string;
  sopClassUid: string;
  frameNumber?: number;
  imagePositionPatient: Vec3;
}

/**
 * A 3D image on a regular grid in patient space (DICOM LPS).
 * Voxel (i, j, k) with i along columns (row direction), j along rows (column direction), k along the slice normal,
 * lives at data[k * rows * columns + j * columns + i] and at patient position
 * origin + i * spacing[0] * rowDir + j * spacing[1] * colDir + k * spacing[2] * normal.
 */
export interface Volume {
  columns: number;
  rows: number;
  slices: number;
  /** [column spacing (along rowDir), row spacing (along colDir), slice spacing (along normal)] in mm. */
  spacing: Vec3;
  /** ImagePositionPatient of slice 0, voxel (0, 0). */
  origin: Vec3;
  orientation: Orientation6;
  normal: Vec3;
  frameOfReferenceUid: string;
  /** Rescaled pixel values (modality LUT applied). */
  data: Float32Array;
  /** slices[k] is the source of slice k, ordered along the normal. */
  sources: SliceSource[];
  /**
   * Only for a series with uneven slice gaps accepted with preprocessing.nonUniformSpacing "resample": the position
   * of each slice along the normal in mm from slice 0 (sliceOffsets[0] = 0, increasing). spacing[2] is then the mean
   * gap, and the volume must be resampled to even spacing before it is used as a regular grid.
   */
  sliceOffsets?: number[];
}

/** A label map on a volume's grid: same dims, one uint8 label per voxel, 0 = background. */
export interface LabelMap {
  columns: number;
  rows: number;
  slices: number;
  data: Uint8Array;
}
