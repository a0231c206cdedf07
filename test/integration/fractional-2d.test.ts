/**
 * A 2D model asking for a FRACTIONAL SEG, through the CLI pipeline on the bundled sample study: the probability
 * frames must agree with the BINARY result of the same model (p ≥ 0.5 ⇔ label 1, softmax of two classes).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFolder, type RunLine } from '../../src/cli';
import { loadConfig } from '../../src/config';
import { readPart10 } from '../../src/dicom/part10';
import type { ModelManifest } from '../../src/domain/manifest';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from '../support/seg-geometry';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

async function runBrainMask(segmentationType: ModelManifest['segmentationType']): Promise<RunLine> {
  const models = mkdtempSync(path.join(tmpdir(), 'frac-models-'));
  const dir = path.join(models, 'brain-mask-2d');
  mkdirSync(dir);
  const source = path.join(ROOT, 'models', 'brain-mask-2d');
  copyFileSync(path.join(source, 'model.onnx'), path.join(dir, 'model.onnx'));
  const manifest = JSON.parse(readFileSync(path.join(source, 'manifest.json'), 'utf8')) as ModelManifest;
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, segmentationType }));
  const output = mkdtempSync(path.join(tmpdir(), 'frac-out-'));
  const config = loadConfig({ env: {}, overrides: { modelsDir: models, logLevel: 'silent' } });
  const { lines } = await runFolder(SAMPLE, output, config, () => undefined);
  expect(lines).toHaveLength(1);
  return lines[0] as RunLine;
}

/** Frame pixels of a SEG keyed by referenced SOP Instance UID (BINARY unpacked to 0/1, FRACTIONAL as 0..255). */
function framesBySource(file: string, fractional: boolean): Map<string, Uint8Array> {
  const seg = readPart10(new Uint8Array(readFileSync(file))).dataset;
  const rows = Number(seg.Rows);
  const cols = Number(seg.Columns);
  const pixels = segPixelBytes(seg);
  return new Map(
    segFrameRefs(seg).map((r) => [
      r.referencedSopInstanceUid,
      fractional ? pixels.slice(r.frame * rows * cols, (r.frame + 1) * rows * cols) : unpackSegFrame(pixels, r.frame, rows, cols),
    ]),
  );
}

describe('FRACTIONAL SEG from a 2D model', () => {
  it('when the brain mask model writes probabilities, then p ≥ 0.5 matches its BINARY mask on (almost) every voxel', async () => {
    const binary = await runBrainMask('BINARY');
    const fractional = await runBrainMask('FRACTIONAL');
    expect(binary.status).toBe('succeeded');
    expect(fractional.status).toBe('succeeded');
    const masks = framesBySource(binary.seg as string, false);
    const probs = framesBySource(fractional.seg as string, true);
    let voxels = 0;
    let agree = 0;
    let partial = 0;
    for (const [sop, p] of probs) {
      const m = masks.get(sop) ?? new Uint8Array(p.length);
      for (let i = 0; i < p.length; i++) {
        voxels++;
        const v = p[i] as number;
        if ((v >= 128 ? 1 : 0) === m[i]) agree++;
        if (v > 0 && v < 255) partial++;
      }
    }
    for (const sop of masks.keys()) expect(probs.has(sop)).toBe(true);
    expect(agree / voxels).toBeGreaterThan(0.9999);
    // Real probabilities, not a re-encoded mask: some voxels are neither 0 nor 1.
    expect(partial).toBeGreaterThan(100);
  });
});
