import { AppError } from '../domain/errors';

/** Replaces label values through a map such as {"2": 1}; labels not listed keep their value. In place. */
export function remapLabels(labels: Uint8Array, remap: Readonly<Record<string, number>>): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v;
  for (const [from, to] of Object.entries(remap)) {
    const f = Number(from);
    if (!Number.isInteger(f) || f < 0 || f > 255 || !Number.isInteger(to) || to < 0 || to > 255) {
      throw new AppError('CONFIG_INVALID', `label remap ${from} → ${to}: both must be integers 0..255`);
    }
    lut[f] = to;
  }
  for (let p = 0; p < labels.length; p++) labels[p] = lut[labels[p] as number] as number;
  return labels;
}
