/** Several input channels from one volume, each with its own intensity chain (e.g. CT soft-tissue and bone windows). */
import { AppError } from '../domain/errors';
import type { IntensityOp } from '../domain/manifest';
import { applyIntensity } from './intensity';

/** Returns a [C, k, j, i] Float32Array: channel c is a copy of data with channels[c].intensity applied. */
export function stackChannels(data: Float32Array, channels: readonly { intensity: readonly IntensityOp[] }[]): Float32Array {
  if (channels.length === 0) throw new AppError('CONFIG_INVALID', 'channels: at least one channel is needed');
  const n = data.length;
  const out = new Float32Array(channels.length * n);
  channels.forEach((channel, c) => {
    const view = out.subarray(c * n, (c + 1) * n);
    view.set(data);
    applyIntensity(view, channel.intensity);
  });
  return out;
}
