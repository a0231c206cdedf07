/**
 * The seed-model-families driver (npm run model-families) on a fast subset: tiny variants of the 2D U-Net, the
 * SegFormer3D-style network and the DeiT-style classifier (none needs torchvision) are exported with PyTorch, loaded
 * by the registry, run by the pipeline's infer stages through WorkerPoolRuntime, and compared with PyTorch. Needs
 * Debian's python3-torch and python3-onnx at /usr/bin/python3.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModelManifest } from '../../src/domain/manifest';
import { compareOutputs, MAX_RELATIVE_ERROR, passes } from '../../scripts/model-families/compare';
import { runFamilies, type FamilyResult } from '../../scripts/model-families/driver';

const SUBSET = ['unet2d', 'segformer3d-style', 'deit-tiny-style'];

describe('model families driver (tiny subset)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'model-families-'));
  let results: FamilyResult[] = [];

  beforeAll(async () => {
    results = await runFamilies({ dir, families: SUBSET, size: 'tiny', runs: 2, isolate: false, intraOpThreads: 1 });
  }, 120000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const result = (id: string): FamilyResult => {
    const r = results.find((x) => x.spec.id === id);
    if (!r) throw new Error(`no result for ${id}`);
    return r;
  };

  it.each(SUBSET)('when %s runs through the pipeline, then its raw output matches PyTorch within the threshold', (id) => {
    const r = result(id);
    expect(r.failure).toBeUndefined();
    expect(r.errors?.count).toBeGreaterThan(0);
    expect(r.errors?.maxRel).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    expect(r.pass).toBe(true);
    expect(r.measure?.latenciesMs).toHaveLength(2);
  });

  it('when the stages ran, then each fed its model the layout its manifest declares', () => {
    expect(result('unet2d').measure?.inputDims).toEqual([2, 1, 64, 64]);
    expect(result('unet2d').measure?.callKind).toBe('run');
    expect(result('segformer3d-style').measure?.inputDims).toEqual([1, 1, 32, 32, 32]);
    expect(result('segformer3d-style').measure?.callKind).toBe('window');
    expect(result('segformer3d-style').measure?.outputDims).toEqual([1, 4, 32, 32, 32]);
    // One radiograph slice copied into the three channels of the RGB backbone.
    expect(result('deit-tiny-style').measure?.inputDims).toEqual([1, 3, 64, 64]);
    expect(result('deit-tiny-style').measure?.outputDims).toEqual([1, 3]);
  });

  it('when the manifests are written, then they carry the ONNX digest and the preprocessing of their task', () => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'segformer3d-style', 'manifest.json'), 'utf8')) as ModelManifest;
    expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.preprocessing.orientation).toBe('RAS');
    expect(manifest.preprocessing.cropOrPadTo).toEqual([32, 32, 32]);
    expect(manifest.io.slidingWindow?.roiSize).toEqual([32, 32, 32]);
  });
});

describe('compareOutputs', () => {
  it('when outputs are equal, then both errors are zero and it passes', () => {
    const s = compareOutputs([1, -2, 3], [1, -2, 3]);
    expect(s).toMatchObject({ maxAbs: 0, maxRel: 0, maxRelElementwise: 0 });
    expect(passes(s)).toBe(true);
  });

  it('when one element is off by 1 % of the output range, then it fails', () => {
    const s = compareOutputs([0, 1.01, -1], [0, 1, -1]);
    expect(s.maxRel).toBeCloseTo(0.005, 6);
    expect(passes(s)).toBe(false);
  });

  it('when an error sits on a value near zero, then only the element-wise error is floored by the output scale', () => {
    const s = compareOutputs([1e-4, 10], [0, 10]);
    expect(s.maxRel).toBeCloseTo(1e-5, 9);
    expect(s.maxRelElementwise).toBeCloseTo(1e-4 / (1e-3 * 10), 9);
  });

  it('when the plugin output has NaN, then it fails', () => {
    expect(passes(compareOutputs([NaN, 1], [0, 1]))).toBe(false);
  });

  it('when lengths differ, then it throws', () => {
    expect(() => compareOutputs([1], [1, 2])).toThrow(/sizes differ/);
  });
});
