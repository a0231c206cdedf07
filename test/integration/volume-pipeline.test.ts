/**
 * The 3D ("volume" layout) path through the real pipeline (CLI run): a sagittal Colin27 series, reoriented to RAS,
 * resampled, tiled by sliding window in the worker, labels restored to the source grid and encoded as a SEG. The
 * test model is pointwise (1×1×1 convolution), so its label at a voxel depends only on that voxel's value: the
 * expected mask on the source grid is computable without any geometry, and every frame of the SEG must equal it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { decodeFrames } from '../../src/dicom/decode';
import { readPart10, str } from '../../src/dicom/part10';
import type { ModelManifest } from '../../src/domain/manifest';
import { argmaxChannels } from '../../src/inference/argmax';
import { WorkerPoolRuntime } from '../../src/inference/worker-pool';
import { loadModels } from '../../src/models/registry';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries } from '../../src/synth/series';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from '../support/seg-geometry';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'models', 'pointwise3d');
const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
/** Puts Colin27's 0–254 intensities around the pointwise model's decision boundary. */
const SCALE = { op: 'scale' as const, multiply: 1 / 64, add: -1 };

function modelsDir(overrides: Partial<ModelManifest>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vol-models-'));
  const target = path.join(dir, 'pointwise3d');
  mkdirSync(target);
  copyFileSync(path.join(FIXTURE, 'model.onnx'), path.join(target, 'model.onnx'));
  const manifest = { ...(JSON.parse(readFileSync(path.join(FIXTURE, 'manifest.json'), 'utf8')) as ModelManifest), ...overrides };
  writeFileSync(path.join(target, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

describe('3D model through the pipeline (reorient + sliding window + restore + SEG)', () => {
  const files = makeSeries(readNifti(readFileSync(CH2)), {
    plane: 'sagittal',
    spacingMm: 4,
    patient: { name: 'VOLUME^TEST', id: 'VOL-1', birthDate: '19700101', sex: 'O' },
    seriesDescription: 'T1 sagittal',
    uidSeed: 'volume-pipeline',
    shuffleSeed: 3,
  });

  async function run(overrides: Partial<ModelManifest>): Promise<RunLine> {
    const input = mkdtempSync(path.join(tmpdir(), 'vol-in-'));
    files.forEach((b, i) => writeFileSync(path.join(input, `f${i}.dcm`), b));
    const output = mkdtempSync(path.join(tmpdir(), 'vol-out-'));
    const config = loadConfig({ env: {}, overrides: { modelsDir: modelsDir(overrides), logLevel: 'silent' } });
    const { lines } = await runFolder(input, output, config, () => undefined);
    expect(lines).toHaveLength(1);
    return lines[0] as RunLine;
  }

  /** The pointwise model's label for every voxel of every source slice, by SOP Instance UID (no geometry involved). */
  async function expectedMasks(): Promise<Map<string, Uint8Array>> {
    return (await expectedOutputs()).labels;
  }

  /** Labels and class-1 probabilities (softmax, ×255) of the pointwise model per source slice. */
  async function expectedOutputs(): Promise<{ labels: Map<string, Uint8Array>; probabilities: Map<string, Float64Array> }> {
    const { models } = await loadModels(path.dirname(FIXTURE));
    const model = models.find((m) => m.manifest.id === 'pointwise3d');
    if (!model) throw new Error('pointwise3d fixture missing');
    const parsed = files.map((b) => readPart10(b));
    const rows = Number(parsed[0]?.dataset.Rows);
    const cols = Number(parsed[0]?.dataset.Columns);
    const stack = new Float32Array(parsed.length * rows * cols);
    parsed.forEach((p, k) => stack.set(decodeFrames(p).frames[0] as Float32Array, k * rows * cols));
    // The same intensity operation as the manifests below (exact in float32: a power-of-two scale and an integer).
    for (let i = 0; i < stack.length; i++) stack[i] = (stack[i] as number) * SCALE.multiply + SCALE.add;
    const runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1 });
    try {
      await runtime.load(model);
      const out = await runtime.run(model.manifest.id, { type: 'float32', dims: [1, 1, parsed.length, rows, cols], data: stack });
      const logits = out.data as Float32Array;
      const labels = argmaxChannels(logits, out.dims).data;
      const plane = parsed.length * rows * cols;
      const p1 = Float64Array.from({ length: plane }, (_, v) => 255 / (1 + Math.exp((logits[v] as number) - (logits[plane + v] as number))));
      const sops = parsed.map((p) => str(p.dataset, 'SOPInstanceUID') as string);
      return {
        labels: new Map(sops.map((sop, k) => [sop, labels.slice(k * rows * cols, (k + 1) * rows * cols)])),
        probabilities: new Map(sops.map((sop, k) => [sop, p1.slice(k * rows * cols, (k + 1) * rows * cols)])),
      };
    } finally {
      await runtime.close();
    }
  }

  it('when the model asks for RAS orientation and sliding windows, then every SEG frame equals the per-voxel model output on its source slice', async () => {
    const line = await run({
      preprocessing: { orientation: 'RAS', intensity: [SCALE] },
      io: { input: 'image', output: 'logits', layout: 'volume', outputKind: 'logits', slidingWindow: { roiSize: [16, 24, 20], overlap: 0.5, blend: 'constant', batchSize: 3 } },
    });
    expect(line.status).toBe('succeeded');
    const expected = await expectedMasks();
    // The model's decision must split the volume, or the comparison below would prove nothing.
    const all = [...expected.values()];
    const ones = all.reduce((n, m) => n + m.reduce((a, v) => a + v, 0), 0);
    const voxels = all.reduce((n, m) => n + m.length, 0);
    expect(ones / voxels).toBeGreaterThan(0.05);
    expect(ones / voxels).toBeLessThan(0.95);
    const seg = readPart10(new Uint8Array(readFileSync(line.seg as string))).dataset;
    const rows = Number(seg.Rows);
    const cols = Number(seg.Columns);
    const refs = segFrameRefs(seg);
    const pixels = segPixelBytes(seg);
    expect(refs.length).toBeGreaterThan(5);
    const seen = new Set<string>();
    for (const r of refs) {
      seen.add(r.referencedSopInstanceUid);
      const want = expected.get(r.referencedSopInstanceUid) as Uint8Array;
      const got = unpackSegFrame(pixels, r.frame, rows, cols);
      let diff = 0;
      for (let p = 0; p < got.length; p++) if (got[p] !== want[p]) diff++;
      expect(diff).toBe(0);
    }
    for (const [sop, mask] of expected) if (!seen.has(sop)) expect(mask.some((v) => v !== 0)).toBe(false);
  });

  it('when the model also resamples to 2 mm, then labels come back on the source grid and agree with the per-voxel output almost everywhere', async () => {
    const line = await run({
      preprocessing: { orientation: 'RAS', targetSpacing: [2, 2, 2], intensity: [SCALE] },
      io: { input: 'image', output: 'logits', layout: 'volume', outputKind: 'logits', slidingWindow: { roiSize: [32, 32, 32], overlap: 0.25, blend: 'gaussian', batchSize: 2 } },
    });
    expect(line.status).toBe('succeeded');
    const expected = await expectedMasks();
    const seg = readPart10(new Uint8Array(readFileSync(line.seg as string))).dataset;
    const rows = Number(seg.Rows);
    const cols = Number(seg.Columns);
    const pixels = segPixelBytes(seg);
    const got = new Map<string, Uint8Array>();
    for (const r of segFrameRefs(seg)) got.set(r.referencedSopInstanceUid, unpackSegFrame(pixels, r.frame, rows, cols));
    let total = 0;
    let agree = 0;
    for (const [sop, want] of expected) {
      const g = got.get(sop) ?? new Uint8Array(want.length);
      for (let p = 0; p < want.length; p++) {
        total++;
        if (g[p] === want[p]) agree++;
      }
    }
    // Interpolation at 2 mm smooths intensity edges, so only voxels near the decision boundary may differ.
    expect(agree / total).toBeGreaterThan(0.95);
  });

  const volumeIo = { input: 'image', output: 'logits', layout: 'volume' as const, outputKind: 'logits' as const, slidingWindow: { roiSize: [16, 24, 20] as [number, number, number], overlap: 0.5, blend: 'constant' as const, batchSize: 3 } };

  it('when the model asks for a FRACTIONAL SEG, then every frame holds the per-voxel probability ×255 (±1) of its source slice', async () => {
    const line = await run({ segmentationType: 'FRACTIONAL', preprocessing: { orientation: 'RAS', intensity: [SCALE] }, io: volumeIo });
    expect(line.status).toBe('succeeded');
    const { probabilities } = await expectedOutputs();
    const seg = readPart10(new Uint8Array(readFileSync(line.seg as string))).dataset;
    expect(seg.SegmentationType).toBe('FRACTIONAL');
    expect(seg.BitsAllocated).toBe(8);
    const rows = Number(seg.Rows);
    const cols = Number(seg.Columns);
    const pixels = segPixelBytes(seg);
    const refs = segFrameRefs(seg);
    expect(refs.length).toBeGreaterThan(5);
    let worst = 0;
    for (const r of refs) {
      const want = probabilities.get(r.referencedSopInstanceUid) as Float64Array;
      const got = pixels.subarray(r.frame * rows * cols, (r.frame + 1) * rows * cols);
      for (let p = 0; p < got.length; p++) worst = Math.max(worst, Math.abs((got[p] as number) - (want[p] as number)));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('when the model asks for a LABELMAP SEG, then each source slice has one frame holding its labels', async () => {
    const line = await run({ segmentationType: 'LABELMAP', preprocessing: { orientation: 'RAS', intensity: [SCALE] }, io: volumeIo });
    expect(line.status).toBe('succeeded');
    const expected = await expectedMasks();
    const seg = readPart10(new Uint8Array(readFileSync(line.seg as string))).dataset;
    expect(seg.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.66.7');
    const rows = Number(seg.Rows);
    const cols = Number(seg.Columns);
    const pixels = segPixelBytes(seg);
    const refs = segFrameRefs(seg);
    expect(new Set(refs.map((r) => r.referencedSopInstanceUid)).size).toBe(refs.length);
    for (const r of refs) {
      const want = expected.get(r.referencedSopInstanceUid) as Uint8Array;
      const got = pixels.subarray(r.frame * rows * cols, (r.frame + 1) * rows * cols);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    }
  });
});
