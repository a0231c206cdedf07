import type { Orientation6, SeriesInfo } from '../domain/study';
import { planeOf, seriesOrientation } from './orientation';

/** Row along x, column tilted from y towards z by `deg` degrees (axial tilting towards coronal). */
function tilted(deg: number): Orientation6 {
  const r = (deg * Math.PI) / 180;
  return [1, 0, 0, 0, Math.cos(r), -Math.sin(r)];
}

describe('orientation from ImageOrientationPatient', () => {
  it.each<[string, Orientation6, string]>([
    ['axial (row x, column y)', [1, 0, 0, 0, 1, 0], 'axial'],
    ['sagittal (row y, column -z)', [0, 1, 0, 0, 0, -1], 'sagittal'],
    ['coronal (row x, column -z)', [1, 0, 0, 0, 0, -1], 'coronal'],
    ['axial with flipped axes', [-1, 0, 0, 0, -1, 0], 'axial'],
    ['axial tilted 15 degrees (within the 20 degree tolerance)', tilted(15), 'axial'],
    ['axial tilted 30 degrees (beyond the tolerance)', tilted(30), 'oblique'],
    ['tilted 45 degrees between axial and coronal', tilted(45), 'oblique'],
    ['tilted 80 degrees (10 degrees from coronal)', tilted(80), 'coronal'],
    ['degenerate (parallel row and column)', [1, 0, 0, 1, 0, 0], 'oblique'],
  ])('when the slices are %s, then the plane is %s', (_name, iop, plane) => {
    expect(planeOf(iop)).toBe(plane);
  });

  it('when the tolerance is widened, then a 30 degree tilt is still axial', () => {
    expect(planeOf(tilted(30), 35)).toBe('axial');
    expect(planeOf(tilted(30), 0)).toBe('oblique');
  });

  const series = (iops: (Orientation6 | undefined)[]): SeriesInfo => ({
    seriesInstanceUid: '1',
    modality: 'MR',
    instances: iops.map((iop, i) => ({ sopInstanceUid: `1.${i}`, sopClassUid: '1.2', ...(iop ? { imageOrientationPatient: iop } : {}) })),
  });

  it('when no instance has an orientation, then the series is unknown', () => {
    expect(seriesOrientation(series([undefined, undefined]))).toBe('unknown');
  });

  it('when instances lie in different planes, then the series is mixed', () => {
    expect(seriesOrientation(series([[1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 0, -1]]))).toBe('mixed');
  });
});
