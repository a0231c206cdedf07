/**
 * The model-families driver: export with PyTorch, run through the plugin, compare with PyTorch, measure.
 *
 *  1. models/training/export_families.py export   → <dir>/<id>/model.onnx, weights.pt, info.json
 *  2. manifest.json per family (registry-validated: schema, sha256, ONNX input/output names)
 *  3. the pipeline's infer stage with WorkerPoolRuntime (run-family.ts), in a child process per family when
 *     isolating (so each memory figure starts from a clean process) → input.f32, output.f32, measure.json
 *  4. models/training/export_families.py reference → PyTorch's output on the same input.f32
 *  5. compare (compare.ts)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadedModel, ModelManifest } from '../../src/domain/manifest';
import { WorkerPoolRuntime } from '../../src/inference/worker-pool';
import { loadModels } from '../../src/models/registry';
import { compareOutputs, passes, type ErrorStats } from './compare';
import { measureFamily } from './run-family';
import { familyById, type ExportInfo, type FamilySize, type FamilySpec } from './specs';

const HERE_ROOT = path.resolve(__dirname, '..', '..');
/** Repository root from scripts/model-families (ts-node) and from dist/scripts/model-families (built). */
export const REPO_ROOT = path.basename(HERE_ROOT) === 'dist' ? path.dirname(HERE_ROOT) : HERE_ROOT;
export const PYTHON = process.env.CLINICAL_AI_PYTHON ?? '/usr/bin/python3';
const EXPORT_SCRIPT = path.join(REPO_ROOT, 'models', 'training', 'export_families.py');
/** A tiny committed model loaded before measuring, so the worker and onnxruntime are up when the baseline RSS is read. */
const PROBE_MODELS = path.join(REPO_ROOT, 'test', 'fixtures', 'models');
const PROBE_ID = 'pointwise3d';

export interface DriverOptions {
  /** Working folder for generated models and tensors (git-ignored). */
  dir: string;
  families: string[];
  size: FamilySize;
  /** Timed runs after the stage run (median reported). */
  runs: number;
  /** One child process per family (memory figures from a clean process); false = one shared in-process pool. */
  isolate: boolean;
  intraOpThreads: number;
  log?: (line: string) => void;
}

/** What a child (or the in-process path) writes to <dir>/<id>/measure.json. */
export interface MeasureSummary {
  latenciesMs: number[];
  medianMs: number;
  rssBeforeBytes: number;
  rssPeakBytes: number;
  callKind: 'run' | 'window';
  inputDims: number[];
  outputDims: number[];
  /** 1-minute load average when the family's runs ended (the machine is shared). */
  loadAverage1m: number;
}

export interface FamilyResult {
  spec: FamilySpec;
  info?: ExportInfo;
  measure?: MeasureSummary;
  errors?: ErrorStats;
  pass: boolean;
  /** Why the family did not get through (export, run or reference step), when it did not. */
  failure?: string;
}

function familyDir(dir: string, id: string): string {
  return path.join(dir, id);
}

export function runProcess(cmd: string, args: string[], log: (line: string) => void): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) if (line.trim()) log(line);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

/** Per family the "FAILED <id>: reason" lines export_families.py prints. */
function pythonFailures(stderr: string): Map<string, string> {
  const failures = new Map<string, string>();
  for (const m of stderr.matchAll(/^FAILED ([a-z0-9-]+): (.*)$/gm)) failures.set(m[1] as string, (m[2] as string).slice(0, 300));
  return failures;
}

async function python(command: 'export' | 'reference', opts: DriverOptions, families: string[], log: (l: string) => void): Promise<Map<string, string>> {
  const { code, stderr } = await runProcess(PYTHON, [EXPORT_SCRIPT, command, '--out', opts.dir, '--size', opts.size, '--families', families.join(',')], log);
  const failures = pythonFailures(stderr);
  if (code !== 0 && failures.size === 0) throw new Error(`export_families.py ${command} exited with ${code}: ${stderr.slice(-2000)}`);
  return failures;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function writeManifest(dir: string, spec: FamilySpec, info: ExportInfo): void {
  const folder = familyDir(dir, spec.id);
  const manifest: ModelManifest = { ...spec.manifest(info), file: 'model.onnx', sha256: sha256(path.join(folder, 'model.onnx')) };
  writeFileSync(path.join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function writeTensor(folder: string, name: string, data: ArrayLike<number>, dims: number[]): void {
  const f32 = Float32Array.from(data);
  writeFileSync(path.join(folder, `${name}.f32`), new Uint8Array(f32.buffer));
  writeFileSync(path.join(folder, `${name}.json`), JSON.stringify({ dims }));
}

export function readTensor(folder: string, name: string): { data: Float32Array; dims: number[] } {
  const bytes = readFileSync(path.join(folder, `${name}.f32`));
  const copy = Uint8Array.prototype.slice.call(bytes) as Uint8Array;
  const { dims } = JSON.parse(readFileSync(path.join(folder, `${name}.json`), 'utf8')) as { dims: number[] };
  return { data: new Float32Array(copy.buffer), dims };
}

/** Loads the family's manifest through the registry (schema, digest) so the run uses what a user's models dir gives. */
async function loadFamilyModel(dir: string, id: string): Promise<LoadedModel> {
  const { models, errors } = await loadModels(dir);
  const model = models.find((m) => m.manifest.id === id);
  const own = errors.filter((e) => e.includes(`${path.sep}${id}${path.sep}`));
  if (!model) throw new Error(`the registry rejected ${id}: ${own.join('; ') || 'not found'}`);
  return model;
}

export async function probePool(intraOpThreads: number): Promise<WorkerPoolRuntime> {
  const pool = new WorkerPoolRuntime({ workers: 1, intraOpThreads });
  const probe = (await loadModels(PROBE_MODELS)).models.find((m) => m.manifest.id === PROBE_ID);
  if (!probe) throw new Error(`probe model ${PROBE_ID} missing from ${PROBE_MODELS}`);
  await pool.load(probe);
  return pool;
}

/** Runs one family in `pool` and writes input/output tensors and measure.json to its folder. */
export async function measureInto(pool: WorkerPoolRuntime, dir: string, id: string, size: FamilySize, runs: number): Promise<MeasureSummary> {
  const folder = familyDir(dir, id);
  const info = JSON.parse(readFileSync(path.join(folder, 'info.json'), 'utf8')) as ExportInfo;
  const model = await loadFamilyModel(dir, id);
  const m = await measureFamily(pool, model, familyById(id).volume({ ...info, size }), runs);
  const { call } = m;
  // A sliding-window call carries [C, D, H, W] and returns [K, D, H, W]: the network saw and gave them with batch 1.
  const inputDims = call.kind === 'window' ? [1, ...call.input.dims] : call.input.dims;
  const outputDims = call.kind === 'window' ? [1, ...call.output.dims] : call.output.dims;
  writeTensor(folder, 'input', call.input.data as Float32Array, inputDims);
  writeTensor(folder, 'output', call.output.data as Float32Array, outputDims);
  const summary: MeasureSummary = {
    latenciesMs: m.latenciesMs.map((v) => Math.round(v * 10) / 10),
    medianMs: m.medianMs,
    rssBeforeBytes: m.rssBeforeBytes,
    rssPeakBytes: m.rssPeakBytes,
    callKind: call.kind,
    inputDims,
    outputDims,
    loadAverage1m: os.loadavg()[0] ?? 0,
  };
  writeFileSync(path.join(folder, 'measure.json'), JSON.stringify(summary, null, 2));
  return summary;
}

/** Body of `--child <id>`: a fresh process, a fresh pool, one family. */
export async function measureChild(dir: string, id: string, size: FamilySize, runs: number, intraOpThreads: number): Promise<void> {
  const pool = await probePool(intraOpThreads);
  try {
    await measureInto(pool, dir, id, size, runs);
  } finally {
    await pool.close();
  }
}

function childArgs(opts: DriverOptions, id: string): string[] {
  const entry = path.join(REPO_ROOT, 'scripts', 'model-families.ts');
  const builtEntry = path.join(REPO_ROOT, 'dist', 'scripts', 'model-families.js');
  const fromTs = __filename.endsWith('.ts');
  const script = fromTs ? ['-r', 'ts-node/register/transpile-only', entry] : [builtEntry];
  return [...script, '--child', id, '--dir', opts.dir, '--size', opts.size, '--runs', String(opts.runs), '--threads', String(opts.intraOpThreads)];
}

export async function runFamilies(opts: DriverOptions): Promise<FamilyResult[]> {
  const log = opts.log ?? (() => undefined);
  mkdirSync(opts.dir, { recursive: true });
  const results = new Map<string, FamilyResult>(opts.families.map((id) => [id, { spec: familyById(id), pass: false }]));
  const fail = (id: string, why: string): void => {
    const r = results.get(id);
    if (r && r.failure === undefined) r.failure = why;
  };

  log(`exporting ${opts.families.length} families (${opts.size}) with PyTorch`);
  for (const [id, why] of await python('export', opts, opts.families, log)) fail(id, `export: ${why}`);
  for (const [id, r] of results) {
    if (r.failure) continue;
    const infoFile = path.join(familyDir(opts.dir, id), 'info.json');
    if (!existsSync(infoFile)) {
      fail(id, 'export: no info.json written');
      continue;
    }
    r.info = JSON.parse(readFileSync(infoFile, 'utf8')) as ExportInfo;
    writeManifest(opts.dir, r.spec, r.info);
  }

  const exported = [...results.values()].filter((r) => !r.failure).map((r) => r.spec.id);
  const pool = opts.isolate ? undefined : await probePool(opts.intraOpThreads);
  try {
    for (const id of exported) {
      log(`running ${id} through the pipeline`);
      try {
        if (pool) await measureInto(pool, opts.dir, id, opts.size, opts.runs);
        else {
          const { code, stderr } = await runProcess(process.execPath, childArgs(opts, id), log);
          if (code !== 0) throw new Error(stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code}`);
        }
        const r = results.get(id);
        if (r) r.measure = JSON.parse(readFileSync(path.join(familyDir(opts.dir, id), 'measure.json'), 'utf8')) as MeasureSummary;
      } catch (err) {
        fail(id, `plugin run: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    await pool?.close();
  }

  const measured = [...results.values()].filter((r) => !r.failure).map((r) => r.spec.id);
  if (measured.length > 0) {
    log('computing PyTorch reference outputs');
    for (const [id, why] of await python('reference', opts, measured, log)) fail(id, `reference: ${why}`);
  }
  for (const id of measured) {
    const r = results.get(id);
    if (!r || r.failure) continue;
    const folder = familyDir(opts.dir, id);
    try {
      const plugin = readTensor(folder, 'output');
      const torch = readTensor(folder, 'reference');
      if (plugin.dims.join('x') !== torch.dims.join('x')) throw new Error(`output shapes differ: plugin [${plugin.dims}], PyTorch [${torch.dims}]`);
      r.errors = compareOutputs(plugin.data, torch.data);
      r.pass = passes(r.errors);
    } catch (err) {
      fail(id, `compare: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return [...results.values()];
}

export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}
