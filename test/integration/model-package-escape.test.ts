/**
 * Model packages may not read files outside their folder: not through a symlinked model file, a ".." path, or
 * ONNX external data (tensors stored in a side file that onnxruntime opens relative to the model). Real files:
 * the models are written by python3-onnx.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256File, loadModels, validateModelFiles } from '../../src/models/registry';
import { externalDataRefs } from '../../src/models/onnx-external-data';
import { loadAllModels } from '../../src/service';

const MODELS_DIR = path.resolve(__dirname, '../../models');
const SOURCE_ID = 'mr-plane-classifier';
const manifestOf = (): Record<string, unknown> => JSON.parse(readFileSync(path.join(MODELS_DIR, SOURCE_ID, 'manifest.json'), 'utf8')) as Record<string, unknown>;

/** logits = image + W, with W (4 floats) stored as external data at `location` (written there when `write`). */
function writeExternalDataModel(file: string, location: string, weightsAt?: string): void {
  const script = `
import sys, numpy as np, onnx
from onnx import helper, TensorProto
out, location, weights_at = sys.argv[1], sys.argv[2], sys.argv[3]
w = helper.make_tensor('W', TensorProto.FLOAT, [4], vals=np.zeros(4, np.float32).tobytes(), raw=True)
w.ClearField('raw_data')
w.data_location = TensorProto.EXTERNAL
e = w.external_data.add(); e.key = 'location'; e.value = location
graph = helper.make_graph([helper.make_node('Add', ['image', 'W'], ['logits'])], 'g',
    [helper.make_tensor_value_info('image', TensorProto.FLOAT, [4])], [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [4])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)]); model.ir_version = 8
open(out, 'wb').write(model.SerializeToString())
if weights_at: open(weights_at, 'wb').write(np.arange(4, dtype=np.float32).tobytes())
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, file, location, weightsAt ?? ''], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3-onnx failed: ${r.stderr}`);
}

describe('model packages stay inside their folder', () => {
  let root: string;
  let outsideDir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'models-'));
    outsideDir = mkdtempSync(path.join(tmpdir(), 'outside-'));
  });
  afterEach(() => {
    rmSync(path.join(root, '..', `secret-${path.basename(root)}.bin`), { force: true });
    rmSync(root, { recursive: true, force: true });
    rmSync(outsideDir, { recursive: true, force: true });
  });

  async function addModel(prepare: (dir: string) => void): Promise<string> {
    const dir = path.join(root, SOURCE_ID);
    mkdirSync(dir, { recursive: true });
    prepare(dir);
    const manifest = { ...manifestOf(), sha256: await sha256File(path.join(dir, 'model.onnx')) };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('when the model file is a symlink out of its folder, then it is refused (MODEL_INVALID at start), and a link inside is fine', async () => {
    const outside = path.join(outsideDir, 'model.onnx');
    copyFileSync(path.join(MODELS_DIR, SOURCE_ID, 'model.onnx'), outside);
    await addModel((dir) => symlinkSync(outside, path.join(dir, 'model.onnx')));
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors).toEqual([expect.stringContaining('/file "model.onnx" is a link to a file outside the model folder')]);
    await expect(loadAllModels(root)).rejects.toMatchObject({ code: 'MODEL_INVALID' });

    rmSync(path.join(root, SOURCE_ID), { recursive: true });
    await addModel((dir) => {
      copyFileSync(outside, path.join(dir, 'real.onnx'));
      symlinkSync('real.onnx', path.join(dir, 'model.onnx'));
    });
    expect((await loadModels(root)).errors).toEqual([]);
  });

  it('when the external data stays in the folder, then the model loads and onnxruntime reads the weights', async () => {
    await addModel((dir) => writeExternalDataModel(path.join(dir, 'model.onnx'), 'weights.bin', path.join(dir, 'weights.bin')));
    expect(externalDataRefs(new Uint8Array(readFileSync(path.join(root, SOURCE_ID, 'model.onnx'))))).toEqual([{ tensor: 'W', location: 'weights.bin' }]);
    const { models, errors } = await validateModelFiles(root);
    expect(errors).toEqual([]);
    expect(models).toHaveLength(1);
  });

  it.each([
    ['a ".." location', (dir: string) => writeExternalDataModel(path.join(dir, 'model.onnx'), '../../outside/weights.bin'), /at "\.\.\/\.\.\/outside\/weights\.bin", outside the model folder/],
    ['an absolute location', (dir: string) => writeExternalDataModel(path.join(dir, 'model.onnx'), '/etc/passwd'), /at "\/etc\/passwd", outside the model folder/],
    [
      'a location that is a symlink out of the folder',
      (dir: string) => {
        const secret = path.join(dir, '..', '..', `secret-${path.basename(path.dirname(dir))}.bin`);
        writeFileSync(secret, Buffer.alloc(16));
        writeExternalDataModel(path.join(dir, 'model.onnx'), 'weights.bin');
        symlinkSync(secret, path.join(dir, 'weights.bin'));
      },
      /at "weights\.bin", a link to a file outside the model folder/,
    ],
    ['a missing external data file', (dir: string) => writeExternalDataModel(path.join(dir, 'model.onnx'), 'weights.bin'), /at "weights\.bin", which does not exist/],
  ])('when a tensor has external data at %s, then the model is refused at load', async (_what, prepare, message) => {
    await addModel(prepare);
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(message)]);
    await expect(loadAllModels(root)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});
