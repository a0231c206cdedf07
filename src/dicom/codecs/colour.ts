/**
 * Colour helpers for decoded frames. All work on sample values (not bytes), interleaved R,G,B per pixel.
 */

/** PlanarConfiguration 1 (RRR…GGG…BBB…) → interleaved (RGBRGB…). */
export function planarToInterleaved(planar: Float64Array, pixels: number, samples: number): Float64Array {
  const out = new Float64Array(pixels * samples);
  for (let s = 0; s < samples; s++) {
    const base = s * pixels;
    for (let p = 0; p < pixels; p++) out[p * samples + s] = planar[base + p] as number;
  }
  return out;
}

function clamp(v: number, max: number): number {
  // `<= 0` also turns -0 (from rounding small negatives) into 0.
  return v <= 0 ? 0 : v > max ? max : v;
}

/**
 * YBR_FULL (full-range ITU-R BT.601 YCbCr, PS3.3 C.7.6.3.1.2) → RGB, in place, for samples of `bits` bits.
 * Rounded to the nearest integer and clamped, as stored RGB values would be.
 */
export function ybrFullToRgb(values: Float64Array, bits: number): void {
  const max = 2 ** bits - 1;
  const mid = 2 ** (bits - 1);
  for (let p = 0; p + 2 < values.length; p += 3) {
    const y = values[p] as number;
    const cb = (values[p + 1] as number) - mid;
    const cr = (values[p + 2] as number) - mid;
    values[p] = clamp(Math.round(y + 1.402 * cr), max);
    values[p + 1] = clamp(Math.round(y - 0.344136 * cb - 0.714136 * cr), max);
    values[p + 2] = clamp(Math.round(y + 1.772 * cb), max);
  }
}

/**
 * YBR_FULL_422 as stored natively: per two horizontal pixels Y1 Y2 Cb Cr. Expands to YBR_FULL (3 samples per pixel)
 * sharing the chroma of each pair. Rows with an odd column count end in a pair whose second Y belongs to no pixel.
 */
export function expandYbr422(packed: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(rows * columns * 3);
  const pairsPerRow = Math.ceil(columns / 2);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < pairsPerRow; k++) {
      const src = (r * pairsPerRow + k) * 4;
      const cb = packed[src + 2] as number;
      const cr = packed[src + 3] as number;
      for (let half = 0; half < 2; half++) {
        const c = 2 * k + half;
        if (c >= columns) break;
        const dst = (r * columns + c) * 3;
        out[dst] = packed[src + half] as number;
        out[dst + 1] = cb;
        out[dst + 2] = cr;
      }
    }
  }
  return out;
}

/** ITU-R BT.601 luma of interleaved RGB: Y = 0.299 R + 0.587 G + 0.114 B, one value per pixel. */
export function toLuminance(rgb: Float32Array | Float64Array): Float32Array {
  const pixels = Math.floor(rgb.length / 3);
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    out[p] = 0.299 * (rgb[3 * p] as number) + 0.587 * (rgb[3 * p + 1] as number) + 0.114 * (rgb[3 * p + 2] as number);
  }
  return out;
}
