import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAppError } from '../domain/errors';
import { checkOnnxSignature, loadModels, modelsValidateCommand, sha256File, validateModelFiles } from './registry';

const MODELS_DIR = path.resolve(__dirname, '../../models');
const SOURCE_ID = 'mr-plane-classifier';
const SOURCE_ONNX = path.join(MODELS_DIR, SOURCE_ID, 'model.onnx');
const sourceManifest = (): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(MODELS_DIR, SOURCE_ID, 'manifest.json'), 'utf8')) as Record<string, unknown>;

let root: string;

/** Writes <root>/<folder>/manifest.json (+ a copy of the real ONNX file) and returns the folder path. */
function addModel(folder: string, manifest: unknown, options: { onnx?: boolean; raw?: string } = {}): string {
  const dir = path.join(root, folder);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'manifest.json'), options.raw ?? JSON.stringify(manifest, null, 2));
  if (options.onnx !== false) copyFileSync(SOURCE_ONNX, path.join(dir, 'model.onnx'));
  return dir;
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'models-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('loadModels', () => {
  it('when the committed models folder is loaded, then every model is valid and its digest is the file sha256', async () => {
    const { models, errors } = await loadModels(MODELS_DIR);
    expect(errors).toEqual([]);
    expect(models.length).toBeGreaterThanOrEqual(2);
    for (const m of models) {
      expect(m.digest).toBe(m.manifest.sha256);
      expect(await sha256File(m.modelPath)).toBe(m.digest);
      expect(path.isAbsolute(m.modelPath)).toBe(true);
    }
  });

  it('when a folder has no manifest, then it is skipped without an error', async () => {
    addModel(SOURCE_ID, sourceManifest());
    mkdirSync(path.join(root, 'training'));
    const { models, errors } = await loadModels(root);
    expect(errors).toEqual([]);
    expect(models.map((m) => m.manifest.id)).toEqual([SOURCE_ID]);
  });

  it('when a manifest has an unknown property, then the error names the file and the JSON path', async () => {
    addModel(SOURCE_ID, { ...sourceManifest(), io: { ...(sourceManifest().io as object), colour: 'red' } });
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(path.join(SOURCE_ID, 'manifest.json'));
    expect(errors[0]).toContain('/io has unknown property "colour"');
  });

  it('when a required field is missing or an enum is wrong, then each problem is listed', async () => {
    const { sha256: _dropped, ...rest } = sourceManifest();
    addModel(SOURCE_ID, { ...rest, task: 'detection' });
    const { errors } = await loadModels(root);
    expect(errors.some((e) => e.includes("must have required property 'sha256'"))).toBe(true);
    expect(errors.some((e) => e.includes('/task must be one of "segmentation", "classification"'))).toBe(true);
  });

  it('when the manifest is not JSON, then the error says so', async () => {
    addModel(SOURCE_ID, null, { raw: '{ "id": ' });
    const { errors } = await loadModels(root);
    expect(errors[0]).toMatch(/manifest\.json: not valid JSON/);
  });

  it('when the sha256 does not match the ONNX file, then the model is rejected', async () => {
    addModel(SOURCE_ID, { ...sourceManifest(), sha256: '0'.repeat(64) });
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors[0]).toContain('/sha256 does not match model.onnx');
  });

  it('when the id differs from the folder name, then the model is rejected', async () => {
    addModel('other-folder', sourceManifest());
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors[0]).toContain('must equal the folder name "other-folder"');
  });

  it('when two manifests declare the same id, then only the first is kept and the second is reported', async () => {
    addModel(SOURCE_ID, sourceManifest());
    // Same id in a second folder: reported for the folder mismatch and the duplicate id both.
    addModel('zz-copy', sourceManifest());
    const { models, errors } = await loadModels(root);
    expect(models.map((m) => m.manifest.id)).toEqual([SOURCE_ID]);
    expect(errors.join('\n')).toContain('zz-copy');
  });

  it('when the ONNX file is missing or points outside the folder, then the model is rejected', async () => {
    addModel(SOURCE_ID, sourceManifest(), { onnx: false });
    addModel('escape', { ...sourceManifest(), id: 'escape', file: 'sub/../../x.onnx' });
    const { models, errors } = await loadModels(root);
    expect(models).toEqual([]);
    expect(errors.join('\n')).toContain('/file "model.onnx" does not exist');
    expect(errors.join('\n')).toContain('escape/manifest.json: /file');
  });

  it('when a classifier declares a segmentation output kind, then the semantic check rejects it', async () => {
    addModel(SOURCE_ID, { ...sourceManifest(), io: { ...(sourceManifest().io as object), outputKind: 'sigmoid' } });
    const { errors } = await loadModels(root);
    expect(errors[0]).toContain('/io/outputKind "sigmoid" is not allowed for task classification');
  });

  it('when the models directory does not exist, then a CONFIG_INVALID AppError is thrown', async () => {
    await expect(loadModels(path.join(root, 'nope'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('checkOnnxSignature', () => {
  it('when the names exist in the graph, then it returns the graph names', async () => {
    const names = await checkOnnxSignature(SOURCE_ONNX, { input: 'image', output: 'logits' });
    expect(names.inputNames).toEqual(['image']);
    expect(names.outputNames).toEqual(['logits']);
  });

  it('when the input name is wrong, then it throws MODEL_INVALID naming the graph inputs', async () => {
    const err: unknown = await checkOnnxSignature(SOURCE_ONNX, { input: 'input', output: 'logits' }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('MODEL_INVALID');
    expect((err as Error).message).toContain('no input "input" (graph inputs: image)');
  });

  it('when the file is not an ONNX model, then it throws MODEL_INVALID', async () => {
    const bogus = path.join(root, 'bogus.onnx');
    writeFileSync(bogus, 'not a model');
    await expect(checkOnnxSignature(bogus, { input: 'image', output: 'logits' })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describe('validateModelFiles / models validate', () => {
  it('when a manifest names an output the graph lacks, then validation reports it and the command exits 1', async () => {
    addModel(SOURCE_ID, { ...sourceManifest(), io: { ...(sourceManifest().io as object), output: 'probs' } });
    const result = await validateModelFiles(root);
    expect(result.models).toEqual([]);
    expect(result.errors[0]).toContain('no output "probs"');
    const lines: string[] = [];
    expect(await modelsValidateCommand(root, (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toBe('0 valid, 1 error(s)');
  });

  it('when the committed models are validated, then the command exits 0', async () => {
    const lines: string[] = [];
    expect(await modelsValidateCommand(MODELS_DIR, (l) => lines.push(l))).toBe(0);
    expect(lines.filter((l) => l.startsWith('ok '))).toHaveLength(2);
  });
});
