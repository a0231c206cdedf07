/** Grids shared by the preprocessing tests (not a test file itself; compiled with the sources, tiny). */
import type { Vec3 } from '../domain/study';
import type { Grid3 } from './grid';

function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** An oblique grid: rows tilted about two axes, like a double-oblique MR acquisition. */
export function obliqueGrid(dims: [number, number, number] = [5, 4, 3]): Grid3 {
  const u = normalise([0.9, 0.3, -0.2]);
  const vRaw: Vec3 = [-0.25, 0.8, 0.4];
  const dot = u[0] * vRaw[0] + u[1] * vRaw[1] + u[2] * vRaw[2];
  const v = normalise([vRaw[0] - dot * u[0], vRaw[1] - dot * u[1], vRaw[2] - dot * u[2]]);
  return { dims, spacing: [0.8, 0.9, 2.5], origin: [-120.5, 33.25, 71], direction: [u, v, cross(u, v)] };
}

/** A sagittal grid: i runs posterior, j inferior, k left (rows A→P, columns S→I). */
export function sagittalGrid(dims: [number, number, number] = [6, 5, 4]): Grid3 {
  return { dims, spacing: [1, 1.2, 3], origin: [-40, -100, 80], direction: [[0, 1, 0], [0, 0, -1], [1, 0, 0]] };
}

export function axialGrid(dims: [number, number, number], spacing: Vec3 = [1, 1, 1], origin: Vec3 = [0, 0, 0]): Grid3 {
  return { dims, spacing, origin, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
}
