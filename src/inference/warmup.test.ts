import type { ModelManifest } from '../domain/manifest';
import { warmupHint, warmupShape } from './warmup';

type Shape = Pick<ModelManifest, 'io' | 'preprocessing'>;
const io = { input: 'image', output: 'logits', outputKind: 'logits' } as const;

describe('warm-up shape', () => {
  it('when the manifest gives a sliding-window roi, a crop size or a 2D input size, then that is the hint', () => {
    const sw = { roiSize: [32, 24, 16] as [number, number, number], overlap: 0.25, blend: 'gaussian' as const, batchSize: 2 };
    expect(warmupHint({ io: { ...io, layout: 'volume', slidingWindow: sw }, preprocessing: {} })).toEqual([1, 1, 32, 24, 16]);
    expect(warmupHint({ io: { ...io, layout: 'volume' }, preprocessing: { cropOrPadTo: [8, 8, 8], channels: [{ intensity: [] }, { intensity: [] }] } })).toEqual([1, 2, 8, 8, 8]);
    expect(warmupHint({ io: { ...io, layout: 'slices' }, preprocessing: { inputSize: [128, 128] } } satisfies Shape)).toEqual([1, 1, 128, 128]);
    expect(warmupHint({ io: { ...io, layout: 'slice-stack', stackSlices: 3 }, preprocessing: { inputSize: [64, 64] } })).toEqual([1, 3, 64, 64]);
    expect(warmupHint({ io: { ...io, layout: 'volume' }, preprocessing: {} })).toBeUndefined();
  });

  it('when the graph fixes some dimensions, then they win and symbolic ones come from the hint, batch defaulting to 1', () => {
    expect(warmupShape(['batch', 1, 128, 128], [1, 1, 64, 64])).toEqual([1, 1, 128, 128]);
    expect(warmupShape(['batch', 1, 'depth', 'height', 'width'], [1, 1, 32, 32, 32])).toEqual([1, 1, 32, 32, 32]);
    expect(warmupShape(['batch', 3, 224, 224], undefined)).toEqual([1, 3, 224, 224]);
  });

  it('when a spatial dimension is symbolic and the manifest gives no size, then the reason says which', () => {
    expect(warmupShape(['batch', 1, 'depth', 'height', 'width'], undefined)).toMatch(/dimension 2 \("depth"\) is symbolic/);
    expect(warmupShape(['batch', 1, 'depth', 'height', 'width'], [1, 1, 64, 64])).toMatch(/dimension 2/);
  });
});
