/**
 * Argmax over the channel axis of an [N, C, ...spatial] tensor → uint8 labels [N, ...spatial].
 * Ties go to the lower channel (background first), matching numpy/torch argmax.
 */
export function argmaxChannels(data: Float32Array, dims: readonly number[]): { data: Uint8Array; dims: number[] } {
  const [n = 1, c = 1, ...spatial] = dims;
  if (c > 255) throw new Error(`argmax over ${c} channels does not fit uint8 labels`);
  const plane = spatial.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * plane);
  for (let b = 0; b < n; b++) {
    const base = b * c * plane;
    const outBase = b * plane;
    // Channel-major sweep keeps memory access sequential.
    const best = new Float32Array(plane);
    best.set(data.subarray(base, base + plane));
    for (let ch = 1; ch < c; ch++) {
      const off = base + ch * plane;
      for (let p = 0; p < plane; p++) {
        const v = data[off + p] as number;
        if (v > (best[p] as number)) {
          best[p] = v;
          out[outBase + p] = ch;
        }
      }
    }
  }
  return { data: out, dims: [n, ...spatial] };
}
