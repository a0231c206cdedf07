/** How the plugin's raw model output is compared with PyTorch's output on the same input. */

/** Pass criterion of issue #6: max relative error at most this. */
export const MAX_RELATIVE_ERROR = 1e-3;
/**
 * Floor of the element-wise relative error's denominator, as a fraction of the reference's largest magnitude: values
 * near zero (a logit crossing 0) would otherwise turn float32 rounding into huge ratios.
 */
export const RELATIVE_FLOOR = 1e-3;

export interface ErrorStats {
  /** max |a - b| */
  maxAbs: number;
  /** Pass criterion: max |a - b| / (max b - min b), the error against the output's range. */
  maxRel: number;
  /** Stricter, element-wise: max |a - b| / max(|b|, RELATIVE_FLOOR * max|b|). */
  maxRelElementwise: number;
  /** max b - min b */
  refRange: number;
  count: number;
}

/** Errors of `actual` (plugin) against `reference` (PyTorch); throws when the lengths differ. */
export function compareOutputs(actual: ArrayLike<number>, reference: ArrayLike<number>): ErrorStats {
  if (actual.length !== reference.length) throw new Error(`output sizes differ: plugin ${actual.length}, PyTorch ${reference.length}`);
  let refMaxAbs = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < reference.length; i++) {
    const b = reference[i] as number;
    refMaxAbs = Math.max(refMaxAbs, Math.abs(b));
    lo = Math.min(lo, b);
    hi = Math.max(hi, b);
  }
  const floor = RELATIVE_FLOOR * refMaxAbs;
  let maxAbs = 0;
  let maxRelElementwise = 0;
  for (let i = 0; i < actual.length; i++) {
    const b = reference[i] as number;
    const d = Math.abs((actual[i] as number) - b);
    // NaN anywhere makes every error NaN, which never passes.
    if (Number.isNaN(d)) return { maxAbs: NaN, maxRel: NaN, maxRelElementwise: NaN, refRange: hi - lo, count: actual.length };
    maxAbs = Math.max(maxAbs, d);
    const denom = Math.max(Math.abs(b), floor);
    maxRelElementwise = Math.max(maxRelElementwise, denom > 0 ? d / denom : d > 0 ? Infinity : 0);
  }
  // A constant output (range 0, e.g. a single class score) falls back to its magnitude.
  const scale = hi - lo > 0 ? hi - lo : refMaxAbs;
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs > 0 ? Infinity : 0;
  return { maxAbs, maxRel, maxRelElementwise, refRange: hi - lo, count: actual.length };
}

export function passes(stats: ErrorStats): boolean {
  return stats.maxRel <= MAX_RELATIVE_ERROR;
}
