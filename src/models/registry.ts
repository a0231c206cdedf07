import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { InferenceSession } from 'onnxruntime-node';
import { AppError } from '../domain/errors';
import type { IntensityOp, LoadedModel, ModelIO, ModelManifest } from '../domain/manifest';
import manifestSchema from '../../models/manifest.schema.json';
import { selectionProblems } from '../routing/selection';
import { externalDataRefs } from './onnx-external-data';

export interface ModelLoadResult {
  /** Models whose manifest, file and digest are all valid. */
  models: LoadedModel[];
  /** One line per problem, each naming the manifest file (and the JSON path in it where there is one). */
  errors: string[];
}

const MANIFEST_FILE = 'manifest.json';

// strictRequired off: the if/then branches require properties declared in the parent schema, which is intended.
// discriminator: intensity operations are a oneOf keyed by "op", so errors name the fields of the op that was meant.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, discriminator: true });
const validateManifestJson = ajv.compile<ModelManifest>(manifestSchema);

/** Reads every `<dir>/*\/manifest.json`; folders without a manifest (e.g. training/) are skipped. */
export async function loadModels(dir: string): Promise<ModelLoadResult> {
  const root = path.resolve(dir);
  const entries = await readdir(root, { withFileTypes: true }).catch((err: unknown) => {
    throw new AppError('CONFIG_INVALID', `models directory ${root} cannot be read: ${String(err)}`, { cause: err });
  });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const models: LoadedModel[] = [];
  const errors: string[] = [];
  const seenIds = new Map<string, string>();

  for (const folder of folders) {
    const manifestPath = path.join(root, folder, MANIFEST_FILE);
    if (!(await isFile(manifestPath))) continue;
    const where = path.join(path.basename(root), folder, MANIFEST_FILE);
    const problems: string[] = [];
    const loaded = await loadOne(manifestPath, folder, problems);
    for (const p of problems) errors.push(`${where}: ${p}`);
    if (!loaded) continue;
    const firstSeen = seenIds.get(loaded.manifest.id);
    if (firstSeen !== undefined) {
      errors.push(`${where}: /id "${loaded.manifest.id}" is already used by ${firstSeen}`);
      continue;
    }
    seenIds.set(loaded.manifest.id, where);
    models.push(loaded);
  }
  return { models, errors };
}

/** Everything `clinical-ai models validate` checks: manifests, digests, and the ONNX input/output names. */
export async function validateModelFiles(dir: string): Promise<ModelLoadResult> {
  const { models, errors } = await loadModels(dir);
  const valid: LoadedModel[] = [];
  for (const model of models) {
    try {
      await checkOnnxSignature(model.modelPath, model.manifest.io);
      valid.push(model);
    } catch (err) {
      errors.push(`${path.join(path.basename(path.resolve(dir)), model.manifest.id, MANIFEST_FILE)}: ${(err as Error).message}`);
    }
  }
  return { models: valid, errors };
}

/** The `models validate` command body: prints one line per model or error; returns the exit code. */
export async function modelsValidateCommand(dir: string, print: (line: string) => void): Promise<number> {
  const { models, errors } = await validateModelFiles(dir);
  for (const m of models) print(`ok    ${m.manifest.id} ${m.manifest.version} sha256 ${m.digest.slice(0, 12)}…`);
  for (const e of errors) print(`error ${e}`);
  print(`${models.length} valid, ${errors.length} error(s)`);
  return errors.length === 0 ? 0 : 1;
}

/**
 * Opens the ONNX file and checks that the manifest's input and output names exist in the graph.
 * Throws AppError MODEL_INVALID otherwise (or when the file is not a loadable ONNX model).
 */
export async function checkOnnxSignature(
  modelPath: string,
  io: Pick<ModelIO, 'input' | 'output'>,
): Promise<{ inputNames: readonly string[]; outputNames: readonly string[] }> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(modelPath);
  } catch (err) {
    throw new AppError('MODEL_INVALID', `${path.basename(modelPath)} is not a loadable ONNX model: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const { inputNames, outputNames } = session;
    const missing: string[] = [];
    if (!inputNames.includes(io.input)) missing.push(`input "${io.input}" (graph inputs: ${inputNames.join(', ')})`);
    if (!outputNames.includes(io.output)) missing.push(`output "${io.output}" (graph outputs: ${outputNames.join(', ')})`);
    if (missing.length > 0) {
      throw new AppError('MODEL_INVALID', `${path.basename(modelPath)} has no ${missing.join(' and no ')}`, {
        details: { inputNames: [...inputNames], outputNames: [...outputNames] },
      });
    }
    return { inputNames, outputNames };
  } finally {
    await session.release();
  }
}

export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function loadOne(manifestPath: string, folder: string, problems: string[]): Promise<LoadedModel | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    problems.push(`not valid JSON: ${(err as Error).message}`);
    return undefined;
  }
  const found = manifestProblems(json);
  if (!found.valid) {
    problems.push(...found.problems);
    return undefined;
  }
  const manifest = json as ModelManifest;
  problems.push(...found.problems);
  if (manifest.id !== folder) problems.push(`/id "${manifest.id}" must equal the folder name "${folder}"`);

  const folderPath = path.dirname(manifestPath);
  const modelPath = path.resolve(folderPath, manifest.file);
  if (!modelPath.startsWith(folderPath + path.sep)) {
    problems.push(`/file "${manifest.file}" points outside the model folder`);
    return undefined;
  }
  if (!(await isFile(modelPath))) {
    problems.push(`/file "${manifest.file}" does not exist`);
    return undefined;
  }
  const outside = await outsideFolderProblem(folderPath, modelPath, manifest.file);
  if (outside) {
    problems.push(outside);
    return undefined;
  }
  const digest = await sha256File(modelPath);
  if (digest !== manifest.sha256) problems.push(`/sha256 does not match ${manifest.file} (file has ${digest})`);
  return problems.length === 0 ? { manifest, modelPath, digest } : undefined;
}

/**
 * Checks a parsed manifest without touching files: the JSON Schema first, then the rules a schema cannot say well.
 * valid is false when the schema fails (problems are then the schema errors only); problems lists every finding, each
 * starting with the JSON path it concerns.
 */
export function manifestProblems(json: unknown): { valid: boolean; problems: string[] } {
  if (!validateManifestJson(json)) {
    // "must match then schema" only repeats the error found inside the then branch.
    const errors = (validateManifestJson.errors ?? []).filter((e) => e.keyword !== 'if');
    return { valid: false, problems: errors.map(describeSchemaError) };
  }
  return { valid: true, problems: semanticProblems(json) };
}

function intensityChainProblems(ops: readonly IntensityOp[], at: string): string[] {
  const problems: string[] = [];
  ops.forEach((op, idx) => {
    if (op.op === 'clip' && !(op.min < op.max)) problems.push(`${at}/${idx} clip needs min < max (has ${op.min} and ${op.max})`);
    if (op.op === 'percentile' && !(op.lower < op.upper)) problems.push(`${at}/${idx} percentile needs lower < upper (has ${op.lower} and ${op.upper})`);
  });
  return problems;
}

/** Preprocessing/postprocessing fields that contradict each other or the model's task and layout. */
function processingProblems(m: ModelManifest): string[] {
  const problems: string[] = [];
  const pre = m.preprocessing;
  if (pre.normalize !== undefined && (pre.intensity !== undefined || pre.channels !== undefined)) {
    problems.push('/preprocessing/normalize is a shorthand for intensity: give either normalize or intensity/channels, not both');
  }
  if (pre.intensity !== undefined && pre.channels !== undefined) {
    problems.push('/preprocessing/intensity is ignored when channels are given: move the operations into each channel');
  }
  problems.push(...intensityChainProblems(pre.intensity ?? [], '/preprocessing/intensity'));
  (pre.channels ?? []).forEach((c, idx) => problems.push(...intensityChainProblems(c.intensity, `/preprocessing/channels/${idx}/intensity`)));
  if (pre.cropOrPadTo !== undefined && m.io.layout !== 'volume') {
    problems.push(`/preprocessing/cropOrPadTo applies to layout "volume" only (this model has "${m.io.layout}"; use inputSize for 2D)`);
  }
  if (pre.padValue !== undefined && pre.cropOrPadTo === undefined) problems.push('/preprocessing/padValue has no effect without cropOrPadTo');
  if (m.segmentationType && m.task !== 'segmentation') problems.push('/segmentationType applies to segmentation models only');
  if (m.segmentationType === 'FRACTIONAL' && m.io.outputKind === 'labels') {
    problems.push('/segmentationType FRACTIONAL needs probabilities: outputKind "labels" has none (use logits, probabilities or sigmoid)');
  }
  const post = m.postprocessing;
  if (post && m.task !== 'segmentation') problems.push('/postprocessing applies to segmentation models only (classes carry their own thresholds)');
  const thresholds = post?.thresholds;
  if (thresholds !== undefined) {
    if (m.io.outputKind !== 'sigmoid') {
      problems.push(`/postprocessing/thresholds apply to outputKind "sigmoid" only (this model has "${m.io.outputKind}")`);
    } else if (m.segments !== undefined && thresholds.length !== m.segments.length) {
      problems.push(`/postprocessing/thresholds has ${thresholds.length} value(s) but there are ${m.segments.length} segments (one threshold per sigmoid channel)`);
    }
  }
  return problems;
}

/** Rules a JSON Schema cannot say well: task/output agreement, unique labels and indices, processing fields. */
function semanticProblems(m: ModelManifest): string[] {
  const problems: string[] = [];
  const kinds: Record<ModelManifest['task'], ModelIO['outputKind'][]> = {
    segmentation: ['labels', 'logits', 'sigmoid'],
    classification: ['probabilities', 'logits'],
  };
  if (!kinds[m.task].includes(m.io.outputKind)) {
    problems.push(`/io/outputKind "${m.io.outputKind}" is not allowed for task ${m.task} (use ${kinds[m.task].join(' or ')})`);
  }
  if (m.task === 'classification' && m.io.layout === 'slices') {
    problems.push('/io/layout "slices" is for segmentation; a classifier uses "slice-stack" or "volume"');
  }
  const labelValues = (m.segments ?? []).map((s) => s.labelValue);
  if (new Set(labelValues).size !== labelValues.length) problems.push('/segments labelValue values must be unique');
  const indices = (m.classes ?? []).map((c) => c.index).sort((a, b) => a - b);
  if (indices.some((v, i) => v !== i)) problems.push('/classes index values must be 0..n-1, each once');
  problems.push(...processingProblems(m));
  // Regexes that do not compile or could backtrack catastrophically, inverted ranges (docs/routing.md).
  problems.push(...selectionProblems(m.select, '/select'));
  return problems;
}

function describeSchemaError(e: ErrorObject): string {
  const at = e.instancePath === '' ? '/' : e.instancePath;
  // A property forbidden by an if/then rule (e.g. slidingWindow without layout "volume").
  if (e.keyword === 'false schema') return `${at} is not allowed together with the other values given (see its description in models/manifest.schema.json)`;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at} has unknown property "${String(params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${at} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** True when `target`, all links resolved, lies inside `folder` (itself resolved). */
async function insideFolder(folder: string, target: string): Promise<boolean> {
  const [realFolder, realTarget] = await Promise.all([realpath(folder), realpath(target)]);
  return realTarget.startsWith(realFolder + path.sep);
}

/**
 * A model file that is a symlink out of its folder, or whose ONNX external data (tensors stored beside the model,
 * which onnxruntime opens relative to it) points outside the folder or is missing, is refused: a model package
 * must not read other files of the host.
 */
async function outsideFolderProblem(folderPath: string, modelPath: string, file: string): Promise<string | undefined> {
  if (!(await insideFolder(folderPath, modelPath))) return `/file "${file}" is a link to a file outside the model folder`;
  let refs;
  try {
    refs = externalDataRefs(new Uint8Array(await readFile(modelPath)));
  } catch (err) {
    return `/file "${file}" is ${(err as Error).message}`;
  }
  for (const ref of refs) {
    const where = `/file "${file}" tensor "${ref.tensor}" has external data`;
    if (ref.location === undefined || ref.location === '') return `${where} without a location`;
    const target = path.resolve(path.dirname(modelPath), ref.location);
    if (path.isAbsolute(ref.location) || !target.startsWith(folderPath + path.sep)) return `${where} at "${ref.location}", outside the model folder`;
    if (!(await isFile(target))) return `${where} at "${ref.location}", which does not exist`;
    if (!(await insideFolder(folderPath, target))) return `${where} at "${ref.location}", a link to a file outside the model folder`;
  }
  return undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
