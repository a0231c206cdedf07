/** Small, allocation-conscious tensor helpers used by pre- and post-processing. */

/** (x - mean) / std over the whole array, in place; a constant image becomes all zeros. */
export function zscoreInPlace(data: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] as number;
  const mean = data.length ? sum / data.length : 0;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    const d = (data[i] as number) - mean;
    sq += d * d;
  }
  const std = data.length ? Math.sqrt(sq / data.length) : 0;
  const inv = std > 1e-8 ? 1 / std : 0;
  for (let i = 0; i < data.length; i++) data[i] = ((data[i] as number) - mean) * inv;
}

/** Scales to [0, 1] by min and max, in place; a constant image becomes all zeros. */
export function minmaxInPlace(data: Float32Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  const inv = range > 1e-8 ? 1 / range : 0;
  for (let i = 0; i < data.length; i++) data[i] = ((data[i] as number) - lo) * inv;
}

/**
 * Bilinear resize of one 2D image (row-major, h×w) to outH×outW, pixel centres aligned
 * (like torch's interpolate(mode="bilinear", align_corners=False)).
 */
export function resizeBilinear2d(src: Float32Array, h: number, w: number, outH: number, outW: number, out = new Float32Array(outH * outW)): Float32Array {
  const sy = h / outH;
  const sx = w / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      const a = src[y0 * w + x0] as number;
      const b = src[y0 * w + x1] as number;
      const c = src[y1 * w + x0] as number;
      const d = src[y1 * w + x1] as number;
      out[y * outW + x] = (a * (1 - wx) + b * wx) * (1 - wy) + (c * (1 - wx) + d * wx) * wy;
    }
  }
  return out;
}

/** Nearest-neighbour resize of a 2D label image, pixel centres aligned. */
export function resizeNearest2d(src: Uint8Array, h: number, w: number, outH: number, outW: number, out = new Uint8Array(outH * outW)): Uint8Array {
  const sy = h / outH;
  const sx = w / outW;
  for (let y = 0; y < outH; y++) {
    const yy = Math.min(Math.floor((y + 0.5) * sy), h - 1);
    for (let x = 0; x < outW; x++) {
      const xx = Math.min(Math.floor((x + 0.5) * sx), w - 1);
      out[y * outW + x] = src[yy * w + xx] as number;
    }
  }
  return out;
}

/** Softmax of a vector (numerically stable). */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp((logits[i] as number) - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
