import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAppError } from '../domain/errors';
import { checkOnnxSignature, loadModels, manifestProblems, modelsValidateCommand, sha256File, validateModelFiles } from './registry';

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

/** A manifest as loose JSON: the tests below write invalid values into it on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseJson = Record<string, any>;

describe('manifestProblems: preprocessing, postprocessing and sliding-window fields', () => {
  /** A complete, valid 3D segmentation manifest with every new field; tests change one thing at a time. */
  const volumeManifest = (): LooseJson => ({
    id: 'ct-organ-3d',
    name: 'CT organ 3D',
    version: '1.0.0',
    description: 'Test manifest.',
    task: 'segmentation',
    file: 'model.onnx',
    sha256: 'a'.repeat(64),
    manufacturer: 'test',
    select: { modality: ['CT'] },
    io: {
      input: 'image',
      output: 'logits',
      layout: 'volume',
      outputKind: 'sigmoid',
      slidingWindow: { roiSize: [96, 96, 96], overlap: 0.5, blend: 'gaussian', sigmaScale: 0.125, batchSize: 2 },
    },
    preprocessing: {
      targetSpacing: [1.5, 1.5, 2],
      orientation: 'RAS',
      intensity: [
        { op: 'clip', min: -1000, max: 1000 },
        { op: 'zscore', mean: 50, std: 120 },
        { op: 'window', center: 40, width: 400 },
        { op: 'percentile', lower: 0.5, upper: 99.5, outMin: 0, outMax: 1, clip: true },
        { op: 'minmax' },
        { op: 'scale', multiply: 2, add: -1 },
        { op: 'zscore', nonzero: true },
      ],
      nonUniformSpacing: 'resample',
      cropOrPadTo: [128, 160, 160],
      padValue: -1024,
    },
    postprocessing: { thresholds: [0.4, 0.6], labelRemap: { '2': 1 }, largestComponent: [1] },
    segments: [1, 2].map((v) => ({
      labelValue: v,
      label: `organ ${v}`,
      category: { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' },
      type: { value: '78961009', scheme: 'SCT', meaning: 'Spleen' },
    })),
    intendedUse: 'Tests only.',
  });

  const problemsOf = (m: unknown): string[] => manifestProblems(m).problems;

  it('when every new field is set consistently, then the manifest is valid without problems', () => {
    expect(manifestProblems(volumeManifest())).toEqual({ valid: true, problems: [] });
  });

  it('when preprocessing has no normalize, then it is still valid (normalize is optional now)', () => {
    const m = volumeManifest();
    m.preprocessing = {};
    m.postprocessing = {};
    expect(problemsOf(m)).toEqual([]);
  });

  it('when channels replace intensity, then each channel chain is validated', () => {
    const m = volumeManifest();
    delete m.preprocessing.intensity;
    m.preprocessing.channels = [{ intensity: [{ op: 'window', center: 40, width: 400 }] }, { intensity: [{ op: 'window', center: 300, width: 1500 }] }];
    expect(problemsOf(m)).toEqual([]);
    m.preprocessing.channels[1].intensity[0] = { op: 'window', center: 300 };
    expect(problemsOf(m)).toContain("/preprocessing/channels/1/intensity/0 must have required property 'width'");
    m.preprocessing.channels = [];
    expect(problemsOf(m).join('\n')).toContain('/preprocessing/channels must NOT have fewer than 1 items');
  });

  it.each([
    [{ op: 'clip', min: 0 }, "/preprocessing/intensity/0 must have required property 'max'"],
    [{ op: 'window', center: 0, width: 0 }, '/preprocessing/intensity/0/width must be > 0'],
    [{ op: 'zscore', mean: 1 }, '/preprocessing/intensity/0 must have property std when property mean is present'],
    [{ op: 'zscore', mean: 1, std: 0 }, '/preprocessing/intensity/0/std must be > 0'],
    [{ op: 'percentile', lower: 1, upper: 101 }, '/preprocessing/intensity/0/upper must be <= 100'],
    [{ op: 'scale', multiply: 2 }, "/preprocessing/intensity/0 must have required property 'add'"],
    [{ op: 'minmax', min: 0 }, '/preprocessing/intensity/0 has unknown property "min"'],
    [{ op: 'gamma', value: 2 }, '/preprocessing/intensity/0/op must be one of "clip", "window", "zscore", "percentile", "minmax", "scale"'],
  ])('when intensity op %j is malformed, then the schema error names the op field', (op, expected) => {
    const m = volumeManifest();
    m.preprocessing.intensity = [op];
    expect(manifestProblems(m).valid).toBe(false);
    expect(problemsOf(m)).toContain(expected);
  });

  it('when clip or percentile bounds are reversed, then the semantic check says which', () => {
    const m = volumeManifest();
    m.preprocessing.intensity = [{ op: 'clip', min: 5, max: 1 }, { op: 'percentile', lower: 99, upper: 1 }];
    expect(problemsOf(m)).toEqual([
      '/preprocessing/intensity/0 clip needs min < max (has 5 and 1)',
      '/preprocessing/intensity/1 percentile needs lower < upper (has 99 and 1)',
    ]);
  });

  it.each([
    ['targetSpacing', [1, 1], '/preprocessing/targetSpacing must NOT have fewer than 3 items'],
    ['targetSpacing', [1, 0, 1], '/preprocessing/targetSpacing/1 must be > 0'],
    ['orientation', 'RAI', '/preprocessing/orientation must be one of "RAS", "LPS"'],
    ['nonUniformSpacing', 'interpolate', '/preprocessing/nonUniformSpacing must be one of "reject", "resample"'],
    ['cropOrPadTo', [128, 128, 0], '/preprocessing/cropOrPadTo/2 must be >= 1'],
    ['cropOrPadTo', [128, 128.5, 64], '/preprocessing/cropOrPadTo/1 must be integer'],
    ['padValue', 'min', '/preprocessing/padValue must be number'],
  ])('when preprocessing.%s is %j, then the schema rejects it', (field, value, expected) => {
    const m = volumeManifest();
    m.preprocessing[field] = value;
    expect(problemsOf(m)).toContain(expected);
  });

  it('when normalize is combined with intensity, or intensity with channels, then the ambiguity is reported', () => {
    const m = volumeManifest();
    m.preprocessing.normalize = 'zscore';
    m.preprocessing.channels = [{ intensity: [] }];
    const problems = problemsOf(m);
    expect(problems).toContain('/preprocessing/normalize is a shorthand for intensity: give either normalize or intensity/channels, not both');
    expect(problems).toContain('/preprocessing/intensity is ignored when channels are given: move the operations into each channel');
  });

  it('when cropOrPadTo is set on a 2D model or padValue without cropOrPadTo, then the semantic check reports it', () => {
    const m = volumeManifest();
    m.io.layout = 'slices';
    delete m.io.slidingWindow;
    expect(problemsOf(m)).toContain('/preprocessing/cropOrPadTo applies to layout "volume" only (this model has "slices"; use inputSize for 2D)');
    const n = volumeManifest();
    delete n.preprocessing.cropOrPadTo;
    expect(problemsOf(n)).toEqual(['/preprocessing/padValue has no effect without cropOrPadTo']);
  });

  it('when slidingWindow is given for a non-volume layout, then the schema names the field', () => {
    const m = volumeManifest();
    m.io.layout = 'slices';
    delete m.preprocessing.cropOrPadTo;
    delete m.preprocessing.padValue;
    expect(problemsOf(m)).toEqual(['/io/slidingWindow is not allowed together with the other values given (see its description in models/manifest.schema.json)']);
  });

  it.each([
    [{ roiSize: [96, 96, 96], overlap: 1, blend: 'constant', batchSize: 1 }, '/io/slidingWindow/overlap must be < 1'],
    [{ roiSize: [96, 96, 96], overlap: 0.5, blend: 'linear', batchSize: 1 }, '/io/slidingWindow/blend must be one of "constant", "gaussian"'],
    [{ roiSize: [96, 96], overlap: 0.5, blend: 'constant', batchSize: 1 }, '/io/slidingWindow/roiSize must NOT have fewer than 3 items'],
    [{ roiSize: [96, 96, 96], overlap: 0.5, blend: 'constant' }, "/io/slidingWindow must have required property 'batchSize'"],
    [{ roiSize: [96, 96, 96], overlap: 0.5, blend: 'gaussian', sigmaScale: 0, batchSize: 1 }, '/io/slidingWindow/sigmaScale must be > 0'],
  ])('when slidingWindow is %j, then the schema rejects it', (sw, expected) => {
    const m = volumeManifest();
    m.io.slidingWindow = sw;
    expect(problemsOf(m)).toContain(expected);
  });

  it('when sigmoid thresholds do not match the segments, or the output is not sigmoid, then the registry says so', () => {
    const m = volumeManifest();
    m.postprocessing.thresholds = [0.5];
    expect(problemsOf(m)).toEqual(['/postprocessing/thresholds has 1 value(s) but there are 2 segments (one threshold per sigmoid channel)']);
    m.io.outputKind = 'logits';
    expect(problemsOf(m)).toEqual(['/postprocessing/thresholds apply to outputKind "sigmoid" only (this model has "logits")']);
  });

  it.each([
    [{ thresholds: [0, 0.5] }, '/postprocessing/thresholds/0 must be > 0'],
    [{ labelRemap: { x: 1 } }, '/postprocessing/labelRemap property name must be valid'],
    [{ labelRemap: { '2': 256 } }, '/postprocessing/labelRemap/2 must be <= 255'],
    [{ largestComponent: [] }, '/postprocessing/largestComponent must NOT have fewer than 1 items'],
    [{ largestComponent: 'yes' }, '/postprocessing/largestComponent must be boolean'],
    [{ smooth: true }, '/postprocessing has unknown property "smooth"'],
  ])('when postprocessing is %j, then the schema rejects it', (post, expected) => {
    const m = volumeManifest();
    m.postprocessing = post;
    expect(problemsOf(m)).toContain(expected);
  });

  it('when a classifier has postprocessing, then the registry says it applies to segmentation only', () => {
    const m = JSON.parse(readFileSync(path.join(MODELS_DIR, SOURCE_ID, 'manifest.json'), 'utf8')) as LooseJson;
    m.postprocessing = { largestComponent: true };
    expect(problemsOf(m)).toEqual(['/postprocessing applies to segmentation models only (classes carry their own thresholds)']);
  });

  describe('segmentationType', () => {
    it('when a segmentation model asks for LABELMAP or FRACTIONAL, then it is valid', () => {
      for (const t of ['BINARY', 'LABELMAP', 'FRACTIONAL']) {
        const m = volumeManifest();
        m.segmentationType = t;
        expect(problemsOf(m)).toEqual([]);
      }
    });

    it('when the type is unknown, FRACTIONAL meets a labels output, or a classifier sets it, then each is refused with a reason', () => {
      const unknown = volumeManifest();
      unknown.segmentationType = 'BITMAP';
      expect(problemsOf(unknown).join('; ')).toMatch(/segmentationType must be one of "BINARY", "LABELMAP", "FRACTIONAL"/);
      const labels = volumeManifest();
      labels.segmentationType = 'FRACTIONAL';
      (labels.io as LooseJson).outputKind = 'labels';
      expect(problemsOf(labels)).toContain('/segmentationType FRACTIONAL needs probabilities: outputKind "labels" has none (use logits, probabilities or sigmoid)');
      const classifier = JSON.parse(readFileSync(path.join(MODELS_DIR, SOURCE_ID, 'manifest.json'), 'utf8')) as LooseJson;
      classifier.segmentationType = 'BINARY';
      expect(problemsOf(classifier)).toEqual(['/segmentationType applies to segmentation models only']);
    });
  });
});

describe('models/manifest.schema.json', () => {
  it('when the schema is walked, then every declared property has a description and every object schema closes its properties', () => {
    const schema = JSON.parse(readFileSync(path.join(MODELS_DIR, 'manifest.schema.json'), 'utf8')) as unknown;
    const missing: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      // if/then branches only test or forbid values of properties declared elsewhere.
      const isCondition = at.endsWith('/if') || at.endsWith('/then');
      if (n.properties && !isCondition) {
        for (const [key, value] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
          if (typeof value === 'object' && value.description === undefined && !(key === 'op' && n.oneOf)) missing.push(`${at}/properties/${key} has no description`);
        }
        if (n.additionalProperties !== false && !n.oneOf && at !== '/definitions/intensityOp') missing.push(`${at} allows unknown properties`);
      }
      for (const [key, value] of Object.entries(n)) walk(value, `${at}/${key}`);
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });
});
