import type { Vec3 } from '../domain/study';
import { planSeriesGeometry } from './series';

/** A 1 mm 11×11×11 volume centred on the origin (RAS affine = identity plus a shift). */
const VOLUME = {
  dims: [11, 11, 11] as Vec3,
  affine: [
    [1, 0, 0, -5],
    [0, 1, 0, -5],
    [0, 0, 1, -5],
  ],
};

function expectVecClose(got: readonly number[], want: readonly number[]): void {
  expect(got).toHaveLength(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 10));
}

describe('planSeriesGeometry with rotationDegrees', () => {
  it('when an axial plane is tilted 20° about x, then it equals the oblique plane of 20°', () => {
    const tilted = planSeriesGeometry(VOLUME, { plane: 'axial', spacingMm: 2, rotationDegrees: [20, 0, 0] });
    const oblique = planSeriesGeometry(VOLUME, { plane: 'oblique', spacingMm: 2, obliqueDegrees: 20 });
    expectVecClose(tilted.orientation, oblique.orientation);
    expectVecClose(tilted.origin, oblique.origin);
    expect([tilted.rows, tilted.columns, tilted.slices]).toEqual([oblique.rows, oblique.columns, oblique.slices]);
  });

  it('when an axial plane is turned 90° about z, then columns run posterior and rows right', () => {
    const g = planSeriesGeometry(VOLUME, { plane: 'axial', spacingMm: 1, rotationDegrees: [0, 0, 90] });
    expectVecClose(g.orientation, [0, 1, 0, -1, 0, 0]);
    expectVecClose(g.normal, [0, 0, 1]);
  });

  it('when tilted about x and then y, then the rotations apply in that order and the directions stay orthonormal', () => {
    const g = planSeriesGeometry(VOLUME, { plane: 'axial', spacingMm: 2, rotationDegrees: [20, 20, 0] });
    const c = Math.cos((20 * Math.PI) / 180);
    const s = Math.sin((20 * Math.PI) / 180);
    // Ry(20°) · Rx(20°) applied to row [1,0,0] and column [0,1,0].
    expectVecClose(g.orientation, [c, 0, -s, s * s, c, s * c]);
    const row = g.orientation.slice(0, 3);
    const col = g.orientation.slice(3, 6);
    expect(row.reduce((a, v, i) => a + v * (col[i] as number), 0)).toBeCloseTo(0, 12);
    expect(Math.hypot(...col)).toBeCloseTo(1, 12);
  });
});
