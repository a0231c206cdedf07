import type { PlaneOrientation } from '../domain/manifest';
import type { Orientation6, SeriesInfo } from '../domain/study';

/** Default largest tilt (degrees) of the slice normal from a patient axis that still names that plane. */
export const DEFAULT_ORIENTATION_TOLERANCE_DEGREES = 20;

/** What a series' slices are: a plane, oblique, or "unknown" (no ImageOrientationPatient) / "mixed" (instances differ). */
export type SeriesOrientation = PlaneOrientation | 'unknown' | 'mixed';

/**
 * The plane of one ImageOrientationPatient. The slice normal (row × column) is compared with the patient axes:
 * along x (left-right) the slices are sagittal, along y (anterior-posterior) coronal, along z (head-foot) axial.
 * When the normal is more than `toleranceDegrees` away from the nearest axis the slices are oblique.
 */
export function planeOf(iop: Orientation6, toleranceDegrees = DEFAULT_ORIENTATION_TOLERANCE_DEGREES): PlaneOrientation {
  const [rx, ry, rz, cx, cy, cz] = iop;
  const n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const length = Math.hypot(n[0] as number, n[1] as number, n[2] as number);
  if (!(length > 0)) return 'oblique';
  const cosines = n.map((c) => Math.abs(c) / length) as [number, number, number];
  const largest = Math.max(...cosines);
  if (largest < Math.cos((toleranceDegrees * Math.PI) / 180)) return 'oblique';
  if (largest === cosines[2]) return 'axial';
  if (largest === cosines[1]) return 'coronal';
  return 'sagittal';
}

/** The plane of a series from its instances' orientations (all must agree after classification). */
export function seriesOrientation(series: SeriesInfo, toleranceDegrees = DEFAULT_ORIENTATION_TOLERANCE_DEGREES): SeriesOrientation {
  const planes = new Set<PlaneOrientation>();
  for (const i of series.instances) if (i.imageOrientationPatient) planes.add(planeOf(i.imageOrientationPatient, toleranceDegrees));
  if (planes.size === 0) return 'unknown';
  if (planes.size > 1) return 'mixed';
  return [...planes][0] as PlaneOrientation;
}
