import path from 'node:path';
import pino from 'pino';
import { createDicomVetting } from '../adapters/dicom-vetting';
import { FolderImagingSource } from '../adapters/folder/folder-imaging-source';
import { FolderImagingStore } from '../adapters/folder/folder-imaging-store';
import { FolderIndex } from '../adapters/folder/folder-index';
import { bundleFileName, FolderFhirSink } from '../adapters/folder/fhir-folder-sink';
import { MemoryJobStore } from '../adapters/memory/memory-job-store';
import { loadConfig, type Config } from './config';
import { AppError, toAppError } from './domain/errors';
import type { Job } from './domain/job';
import { WorkerPoolRuntime } from './inference/worker-pool';
import { createLogger } from './logging';
import { jobsCommand, JOBS_USAGE } from './jobs-command';
import { authCommand, AUTH_USAGE } from './auth-command';
import { serve } from './main';
import { modelsValidateCommand } from './models/registry';
import { JobRunner } from './pipeline/job-runner';
import { onStudyEvent } from './pipeline/on-study-event';
import { dryRunStudy } from './routing/dry-run';
import { unknownModelProblems } from './routing/route-rules';
import { loadAllModels } from './service';

const USAGE = `usage:
  clinical-ai run --input DIR --output DIR [--models DIR] [--config FILE] [--show-paths]
      process every study under DIR; write SEGs (.dcm) and FHIR bundles (.json) under OUTPUT;
      one JSON line per (study, model) on stdout; exit 1 if any study or file failed;
      an unreadable file is named by fileIndex (its place in LC_ALL=C sorted paths, dot files left out) and
      fileRef (sha256 of its path below DIR, 12 hex digits), its path only with --show-paths (paths may carry names)
  clinical-ai serve [--config FILE]        run the service (HTTP, intake, workers)
  clinical-ai route --input DIR [--models DIR] [--config FILE] [--source NAME] [--calling-ae AET]
      dry-run: which models would run on which series, and why not; one JSON report per study on stdout
  clinical-ai models validate [--models DIR]     check every manifest, model file and digest
${JOBS_USAGE}
${AUTH_USAGE}
  clinical-ai demo                          run the bundled sample MR study through the bundled models`;

/** Package root (where models/ and test/fixtures/ live), from dist/src or src. */
const PACKAGE_ROOT = path.basename(path.dirname(__dirname)) === 'dist' ? path.join(__dirname, '..', '..') : path.join(__dirname, '..');

/** Flags without a value. */
const SWITCHES = new Set(['show-paths']);

function parseFlags(args: string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (SWITCHES.has(a.slice(2)) && a.startsWith('--')) flags.set(a.slice(2), 'true');
    else if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const v = inline ?? args[i + 1];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new Error(`flag --${k} needs a value`);
      flags.set(k, v);
      if (inline === undefined) i++;
    } else rest.push(a);
  }
  return { flags, rest };
}

function cliConfig(flags: Map<string, string>): Config {
  const file = flags.get('config');
  const overrides: Record<string, unknown> = { logLevel: process.env.CLINICAL_AI_LOG_LEVEL ?? 'warn' };
  if (flags.has('models')) overrides.modelsDir = flags.get('models');
  return loadConfig({ ...(file ? { file } : {}), overrides });
}

export interface RunLine {
  study: string;
  model: string;
  status: 'succeeded' | 'failed' | 'skipped';
  series?: string;
  seg?: string;
  report?: string;
  summary?: string;
  error?: { code: string; message: string };
}

/** A file `run` could not use. */
export interface FileErrorLine {
  fileIndex: number;
  fileRef: string;
  /** Only with --show-paths: input paths may carry patient names. */
  file?: string;
  status: 'error';
  error: { code: string; message: string };
}

/** `run`: folder in, folder out, same pipeline as the service (in-memory job store, no retries across runs). */
export async function runFolder(
  input: string,
  output: string,
  config: Config,
  print: (line: string) => void,
  options: { showPaths?: boolean } = {},
): Promise<{ lines: RunLine[]; fileErrors: number }> {
  const logger = createLogger({ level: config.logLevel, destination: pino.destination(2) });
  const models = await loadAllModels(config.modelsDir);
  // Input files are vetted out of process before they are parsed here (docs/hostile-input.md).
  const vetting = await createDicomVetting(config, logger);
  const index = new FolderIndex(path.resolve(input), config.limits.maxInstanceBytes, vetting.forSource('folder'));
  await index.scan().finally(() => vetting.close());
  const problems = index.fileProblems();
  for (const p of problems) {
    const line: FileErrorLine = { fileIndex: p.fileIndex, fileRef: p.fileRef, ...(options.showPaths ? { file: p.file } : {}), status: 'error', error: { code: p.code, message: p.message } };
    print(JSON.stringify(line));
  }

  const jobs = new MemoryJobStore();
  const source = new FolderImagingSource(index);
  const fhir = new FolderFhirSink(path.resolve(output));
  const runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: config.workers.inferenceThreads, device: config.inference.device, logger });
  const lines: RunLine[] = [];
  try {
    for (const m of models) await runtime.load(m);
    for (const studyUid of index.studyUids()) {
      const { decisions } = await onStudyEvent({ studyInstanceUid: studyUid, source: 'cli', receivedAt: new Date().toISOString() }, { source, jobs, models, logger, routes: config.routes });
      for (const d of decisions.filter((x) => !x.job)) {
        const why = [...d.reasons, ...d.verdicts.map((v) => v.reasons.join(', '))].filter((r) => r !== '').join(' | ');
        lines.push({ study: studyUid, model: d.modelId, status: 'skipped', error: { code: 'NO_MATCHING_SERIES', message: why || 'no series' } });
      }
    }
    const runner = new JobRunner(
      {
        source,
        store: new FolderImagingStore(path.resolve(output)),
        fhir,
        runtime,
        jobs,
        models: new Map(models.map((m) => [m.manifest.id, m])),
        results: config.results,
        limits: config.limits,
        logger,
      },
      // One attempt: a CLI run reports failures instead of waiting on backoff.
      { ...config.workers, maxAttempts: 1 },
    );
    await runner.drain();
    const all: Job[] = await jobs.list({ limit: 100_000 });
    for (const job of all.reverse()) {
      const line: RunLine = { study: job.studyInstanceUid, model: job.modelId, status: job.state === 'succeeded' ? 'succeeded' : 'failed', series: job.seriesInstanceUid };
      if (job.result?.segPath) line.seg = job.result.segPath;
      const bundlePath = path.join(path.resolve(output), bundleFileName(job.idempotencyKey));
      if (job.state === 'succeeded') line.report = bundlePath;
      if (job.result?.summary) line.summary = job.result.summary;
      if (job.lastError && job.state !== 'succeeded') line.error = { code: job.lastError.code, message: job.lastError.message };
      lines.push(line);
    }
  } finally {
    await runtime.close();
  }
  for (const l of lines) print(JSON.stringify(l));
  return { lines, fileErrors: problems.length };
}

async function runCommand(flags: Map<string, string>): Promise<number> {
  const input = flags.get('input');
  const output = flags.get('output');
  if (!input || !output) {
    console.error(USAGE);
    return 2;
  }
  const { lines, fileErrors } = await runFolder(input, output, cliConfig(flags), (l) => console.log(l), { showPaths: flags.has('show-paths') });
  const failed = lines.filter((l) => l.status === 'failed').length;
  const ok = lines.filter((l) => l.status === 'succeeded').length;
  if (failed > 0 || fileErrors > 0) {
    console.error(`clinical-ai: ${failed} job(s) failed, ${fileErrors} file(s) unreadable, ${ok} succeeded`);
    return 1;
  }
  if (ok === 0) console.error('clinical-ai: no study matched any model');
  return 0;
}

/** `route`: the dry-run over a folder; prints the same report as POST /route/dry-run, one JSON line per study. */
export async function routeFolder(input: string, config: Config, event: { source?: string; callingAeTitle?: string }, print: (line: string) => void): Promise<{ studies: number; fileProblems: string[] }> {
  const models = await loadAllModels(config.modelsDir);
  const unknown = unknownModelProblems(config.routes, models.map((m) => m.manifest.id));
  if (unknown.length > 0) throw new AppError('CONFIG_INVALID', `invalid route rules:\n  - ${unknown.join('\n  - ')}`);
  const vetting = await createDicomVetting(config, createLogger({ level: config.logLevel, destination: pino.destination(2) }));
  const index = new FolderIndex(path.resolve(input), config.limits.maxInstanceBytes, vetting.forSource('folder'));
  await index.scan().finally(() => vetting.close());
  const uids = index.studyUids();
  for (const uid of uids) print(JSON.stringify(dryRunStudy(index.getStudy(uid), models, config.routes, { source: 'cli', ...event })));
  // Like `run`: a file by its index and ref, not its path (paths may carry patient names).
  return { studies: uids.length, fileProblems: index.fileProblems().map((p) => `file ${p.fileIndex} (ref ${p.fileRef}): ${p.code}: ${p.message}`) };
}

async function routeCommand(flags: Map<string, string>): Promise<number> {
  const input = flags.get('input');
  if (!input) {
    console.error(USAGE);
    return 2;
  }
  const event = {
    ...(flags.has('source') ? { source: flags.get('source') as string } : {}),
    ...(flags.has('calling-ae') ? { callingAeTitle: flags.get('calling-ae') as string } : {}),
  };
  const { studies, fileProblems } = await routeFolder(input, cliConfig(flags), event, (l) => console.log(l));
  for (const p of fileProblems) console.error(`clinical-ai: skipped ${p}`);
  if (studies === 0) {
    console.error(`clinical-ai: no DICOM study found under ${input}`);
    return 1;
  }
  return 0;
}

async function demoCommand(): Promise<number> {
  const input = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
  const output = path.resolve('out', 'demo');
  const config = loadConfig({ overrides: { modelsDir: path.join(PACKAGE_ROOT, 'models'), logLevel: process.env.CLINICAL_AI_LOG_LEVEL ?? 'warn' } });
  console.log(`clinical-ai demo: processing the bundled Colin27 T1 MR study (${input})`);
  const { lines, fileErrors } = await runFolder(input, output, config, (l) => console.log(l));
  console.log('');
  for (const l of lines) {
    console.log(`${l.model}: ${l.status}${l.summary ? ` — ${l.summary}` : ''}`);
    if (l.seg) console.log(`  DICOM SEG:   ${l.seg}`);
    if (l.report) console.log(`  FHIR Bundle: ${l.report}`);
    if (l.error) console.log(`  error: ${l.error.code}: ${l.error.message}`);
  }
  return lines.every((l) => l.status === 'succeeded') && fileErrors === 0 && lines.length > 0 ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    const { flags, rest } = parseFlags(args);
    switch (command) {
      case 'run':
        return await runCommand(flags);
      case 'serve': {
        const configFile = flags.get('config');
        return await serve(configFile ? { configFile } : {});
      }
      case 'route':
        return await routeCommand(flags);
      case 'models':
        if (rest[0] !== 'validate') break;
        return await modelsValidateCommand(flags.get('models') ?? cliConfig(flags).modelsDir, (l) => console.log(l));
      case 'demo':
        return await demoCommand();
      case 'auth':
        return authCommand(rest[0], flags, (l) => console.log(l), (l) => console.error(l));
      case 'jobs': {
        const file = flags.get('config');
        return await jobsCommand(rest[0], flags, loadConfig(file ? { file } : {}), (l) => console.log(l), (l) => console.error(l));
      }
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
    }
    console.error(`unknown command: ${[command, ...args].join(' ')}\n${USAGE}`);
    return 2;
  } catch (err) {
    console.error(`clinical-ai: ${toAppError(err).message}`);
    return 1;
  }
}
