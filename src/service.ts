import type { Server } from 'node:http';
import path from 'node:path';
import { DicomWebAdapter } from '../adapters/dicomweb';
import { QidoPoller } from '../adapters/dicomweb/qido-poller';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../adapters/fhir-embedded/embedded-fhir-app';
import { FhirClientSink } from '../adapters/fhir/fhir-client-sink';
import { FolderImagingSource } from '../adapters/folder/folder-imaging-source';
import { FolderImagingStore } from '../adapters/folder/folder-imaging-store';
import { FolderInbox } from '../adapters/folder/folder-inbox';
import { FolderIndex } from '../adapters/folder/folder-index';
import { createOrthancSource, OrthancChangeFeed } from '../adapters/orthanc';
import { createPushIntake, routeSources } from '../adapters/push';
import { OrthancIntake } from '../adapters/orthanc/orthanc-intake';
import { OrthancReconciliation } from '../adapters/orthanc/reconciliation';
import { OrthancImagingStore } from '../adapters/orthanc/orthanc-store';
import { SqliteJobStore } from '../adapters/sqlite/sqlite-job-store';
import type { Config } from './config';
import { AppError, toAppError } from './domain/errors';
import type { LoadedModel } from './domain/manifest';
import { createApp, type ReadinessCheck } from './http/app';
import { WorkerPoolRuntime } from './inference/worker-pool';
import type { Logger } from './logging';
import { loadModels } from './models/registry';
import { JobRunner } from './pipeline/job-runner';
import { onStudyEvent } from './pipeline/on-study-event';
import { unknownModelProblems } from './routing/route-rules';
import type { FhirSink } from './ports/fhir-sink';
import type { ImagingSource } from './ports/imaging-source';
import type { ImagingStore } from './ports/imaging-store';
import type { StudyEventSource } from './ports/study-events';

export interface RunningService {
  /** Base URL the HTTP server listens on. */
  url: string;
  /** Graceful stop: no new jobs, in-flight ones finish (bounded by graceMs), then everything closes. */
  stop(graceMs?: number): Promise<void>;
}

interface Pacs {
  source: ImagingSource;
  store: ImagingStore;
  intake?: StudyEventSource;
  dicomWebEndpoint?: string;
}

function buildPacs(config: Config, logger: Logger, cursors: SqliteJobStore): Pacs {
  const auth = config.pacsUsername ? { username: config.pacsUsername, password: config.pacsPassword } : undefined;
  if (config.pacs.startsWith('orthanc:')) {
    const baseUrl = config.pacs.slice('orthanc:'.length).replace(/\/+$/, '');
    const adapter = createOrthancSource({ baseUrl, dicomWebRoot: config.pacsDicomWebPath, transcode: config.pacsTranscode, logger, ...(auth ? { auth } : {}) });
    const feed = new OrthancChangeFeed({
      baseUrl,
      cursorStore: cursors,
      pollIntervalMs: config.orthanc.pollIntervalMs,
      fromStart: config.orthanc.fromStart,
      logger,
      ...(auth ? { auth } : {}),
    });
    // The sweep delivers what the feed missed (change log cleared or pruned while we were down); see docs/intake.md.
    const reconciliation = new OrthancReconciliation({
      baseUrl,
      cursorStore: cursors,
      marginMs: config.orthanc.reconcileMarginMs,
      pageSize: config.orthanc.reconcilePageSize,
      fromStart: config.orthanc.fromStart,
      logger,
      ...(auth ? { auth } : {}),
    });
    const intake = new OrthancIntake({ feed, reconciliation, reconcileSchedule: config.orthanc.reconcileSchedule, logger });
    // Orthanc can delete superseded SEGs through its REST API; storing stays STOW-RS.
    const store = new OrthancImagingStore(adapter, { baseUrl, ...(auth ? { auth } : {}) });
    return { source: adapter, store, intake, dicomWebEndpoint: `${baseUrl}${config.pacsDicomWebPath}` };
  }
  if (config.pacs.startsWith('dicomweb:')) {
    const url = config.pacs.slice('dicomweb:'.length).replace(/\/+$/, '');
    const adapter = new DicomWebAdapter({ url, transcode: config.pacsTranscode, logger, ...(auth ? { auth } : {}) });
    const intake = new QidoPoller({
      url,
      stateStore: cursors,
      schedule: config.dicomweb.pollSchedule,
      settleMs: config.dicomweb.settleMs,
      lookbackDays: config.dicomweb.lookbackDays,
      pageSize: config.dicomweb.pageSize,
      maxTracked: config.dicomweb.maxTracked,
      fromStart: config.dicomweb.fromStart,
      logger,
      ...(auth ? { auth } : {}),
    });
    return { source: adapter, store: adapter, intake, dicomWebEndpoint: url };
  }
  // No PACS: a folder inbox is the intake and the source; SEGs are written under dataDir/results.
  const index = new FolderIndex(config.inboxDir, config.limits.maxInstanceBytes);
  return {
    source: new FolderImagingSource(index),
    store: new FolderImagingStore(path.join(config.dataDir, 'results')),
    intake: new FolderInbox(index, { quietMs: config.inboxQuietMs, pollIntervalMs: 1000, logger }),
  };
}

/** Loads every model or fails with all problems listed: a half-configured model set is a configuration error. */
export async function loadAllModels(dir: string): Promise<LoadedModel[]> {
  const { models, errors } = await loadModels(dir);
  if (errors.length > 0) throw new AppError('MODEL_INVALID', `invalid models in ${dir}:\n  - ${errors.join('\n  - ')}`);
  if (models.length === 0) throw new AppError('MODEL_INVALID', `no models found in ${dir}`);
  return models;
}

/** The composition root of `clinical-ai serve`: builds adapters from config and starts HTTP, intake and workers. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const jobs = new SqliteJobStore(path.join(config.dataDir, 'jobs.db'));
  const requeued = await jobs.requeueInterrupted();
  if (requeued > 0) logger.warn({ requeued }, 'resuming jobs interrupted by the last shutdown');

  const models = await loadAllModels(config.modelsDir);
  // Route rules naming a model that is not loaded would silently never apply: refuse them at start.
  const unknownRouteModels = unknownModelProblems(config.routes, models.map((m) => m.manifest.id));
  if (unknownRouteModels.length > 0) throw new AppError('CONFIG_INVALID', `invalid route rules:\n  - ${unknownRouteModels.join('\n  - ')}`);
  const runtime = new WorkerPoolRuntime({ workers: config.workers.concurrency, intraOpThreads: config.workers.inferenceThreads, device: config.inference.device, logger });
  for (const m of models) await runtime.load(m);
  logger.info({ models: models.map((m) => `${m.manifest.id}@${m.manifest.version}`) }, 'models loaded');

  const pacs = buildPacs(config, logger, jobs);
  // Push intakes (STOW-RS, C-STORE) keep what they receive; jobs from them read it there (docs/push-intake.md).
  const push = await createPushIntake(config, { jobs, logger });
  const source = routeSources(pacs.source, push);

  let embedded: EmbeddedFhir | undefined;
  if (config.fhir === 'embedded') embedded = await createEmbeddedFhirApp({ dataFile: path.join(config.dataDir, 'fhir', 'store.ndjson') });

  const readiness: ReadinessCheck[] = [
    { name: 'models', check: async () => void (runtime.loadedModelIds().length === models.length || Promise.reject(new Error('models not loaded'))) },
    { name: 'pacs', check: () => pacs.source.ping() },
  ];
  // The FHIR sink is created after listen when it is the embedded store (it talks to our own /fhir over HTTP,
  // the same code path as an external server); requests before that see it as not ready.
  let fhir: FhirSink | null = null;
  readiness.push({
    name: 'fhir',
    check: async () => {
      if (config.fhir === 'none') return;
      if (!fhir) throw new Error('FHIR sink not started');
      await fhir.ping();
    },
  });
  const fhirProxy: FhirSink = {
    writeTransaction: (key, bundle) => (fhir ? fhir.writeTransaction(key, bundle) : Promise.reject(new AppError('FHIR_UNAVAILABLE', 'FHIR sink not started'))),
    reportsForStudy: (uid) => (fhir ? fhir.reportsForStudy(uid) : Promise.reject(new AppError('FHIR_UNAVAILABLE', 'FHIR sink not started'))),
    ping: () => (fhir ? fhir.ping() : Promise.reject(new AppError('FHIR_UNAVAILABLE', 'FHIR sink not started'))),
    updateResource: (ref, change) => (fhir ? fhir.updateResource(ref, change) : Promise.reject(new AppError('FHIR_UNAVAILABLE', 'FHIR sink not started'))),
  };

  const app = createApp({ jobs, fhir: config.fhir === 'none' ? null : fhirProxy, readiness, logger, models, routes: config.routes, source, ...(embedded ? { embeddedFhir: embedded.router } : {}), ...(push?.stowRouter ? { stow: push.stowRouter } : {}) });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.http.port, config.http.host, () => resolve(s));
    s.on('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `http://${host}:${port}`;

  if (config.fhir === 'embedded') fhir = new FhirClientSink({ baseUrl: `${url}/fhir` });
  else if (config.fhir !== 'none') fhir = new FhirClientSink({ baseUrl: config.fhir, ...(config.fhirToken ? { bearerToken: config.fhirToken } : {}) });

  const runner = new JobRunner(
    {
      source,
      store: pacs.store,
      fhir: config.fhir === 'none' ? null : fhirProxy,
      runtime,
      jobs,
      models: new Map(models.map((m) => [m.manifest.id, m])),
      results: config.results,
      limits: config.limits,
      logger,
      ...(pacs.dicomWebEndpoint ? { dicomWebEndpoint: pacs.dicomWebEndpoint } : {}),
    },
    config.workers,
  );
  runner.start();

  if (pacs.intake) {
    await pacs.intake.start(async (event) => {
      const outcome = await onStudyEvent(event, { source: pacs.source, jobs, models, logger, routes: config.routes });
      if (outcome.created > 0) runner.notify();
    });
  }
  if (push) {
    await push.start(async (event) => {
      const outcome = await onStudyEvent(event, { source: push.source, jobs, models, logger, routes: config.routes });
      if (outcome.created > 0) runner.notify();
    });
  }
  logger.info({ url, pacs: config.pacs.split(':')[0], fhir: config.fhir.startsWith('http') ? 'external' : config.fhir }, 'clinical-ai listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop(graceMs = 25_000) {
      stopping ??= (async () => {
        logger.info('stopping: no new jobs');
        await pacs.intake?.stop().catch((err: unknown) => logger.error({ err: toAppError(err).message }, 'intake stop failed'));
        await push?.stop().catch((err: unknown) => logger.error({ err: toAppError(err).message }, 'push intake stop failed'));
        const drained = await Promise.race([runner.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
        if (!drained) logger.warn({ inFlight: runner.inFlightCount() }, 'grace period over: jobs in flight resume at next start');
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await runtime.close();
        await embedded?.close();
        await jobs.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
