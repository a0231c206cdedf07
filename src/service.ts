import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { DicomWebAdapter } from '../adapters/dicomweb';
import { QidoPoller } from '../adapters/dicomweb/qido-poller';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../adapters/fhir-embedded/embedded-fhir-app';
import { createAuditTrail } from '../adapters/audit';
import { FhirClientSink } from '../adapters/fhir/fhir-client-sink';
import { createOutboundTarget, type OutboundTarget } from '../adapters/outbound-auth';
import { FolderImagingSource } from '../adapters/folder/folder-imaging-source';
import { FolderImagingStore } from '../adapters/folder/folder-imaging-store';
import { FolderInbox } from '../adapters/folder/folder-inbox';
import { FolderIndex } from '../adapters/folder/folder-index';
import { createOrthancSource, OrthancChangeFeed } from '../adapters/orthanc';
import { createPushIntake, routeSources } from '../adapters/push';
import { OrthancIntake } from '../adapters/orthanc/orthanc-intake';
import { OrthancReconciliation } from '../adapters/orthanc/reconciliation';
import { OrthancImagingStore } from '../adapters/orthanc/orthanc-store';
import { FolderJobCheckpoints } from '../adapters/checkpoints/folder-job-checkpoints';
import { createDicomVetting, type DicomVetting } from '../adapters/dicom-vetting';
import { storageMonitorFor } from '../adapters/storage/storage-monitor';
import { SqliteJobStore } from '../adapters/sqlite/sqlite-job-store';
import { SqliteSettlingStore } from '../adapters/sqlite/sqlite-settling-store';
import type { Config } from './config';
import { AppError, toAppError } from './domain/errors';
import { logHash } from './domain/identity';
import type { LoadedModel } from './domain/manifest';
import type { StudyEvent, StudyInfo } from './domain/study';
import { createApp, type ReadinessCheck } from './http/app';
import { checkBindPolicy } from './http/auth/bind-policy';
import { clientCertificateAuthenticator, clientCertificatesConfigured } from './http/auth/client-certificate';
import { createServiceCredential } from './http/auth/service-credential';
import { authConfigured, httpAuthFromConfig } from './http/auth/settings';
import { httpsServerOptions } from './http/tls';
import { WorkerPoolRuntime } from './inference/worker-pool';
import type { Logger } from './logging';
import { loadModels } from './models/registry';
import { JobRunner } from './pipeline/job-runner';
import { onStudyEvent, routeKnownStudy } from './pipeline/on-study-event';
import { StudySettler } from './pipeline/study-settler';
import { Breakers, DependencyBreaker } from './resilience/dependency-breaker';
import { guardFhir, guardSource, guardStore } from './resilience/guarded-ports';
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
  /** The one way out to the PACS (credentials, TLS), shared by every adapter that calls it. */
  target?: OutboundTarget;
}

function buildPacs(config: Config, logger: Logger, cursors: SqliteJobStore, vetting: DicomVetting): Pacs {
  // Every PACS call (Orthanc REST, DICOMweb, QIDO) goes through one target: outbound.pacs or the legacy keys; the
  // URL loses any user:password@ here, so it never reaches logs, errors or FHIR endpoints.
  const outbound = config.pacs === 'none' ? undefined : createOutboundTarget('pacs', config.outbound?.pacs, { url: config.pacs, ...(config.pacsUsername ? { basic: { username: config.pacsUsername, password: config.pacsPassword } } : {}) }, logger);
  const target = outbound?.target;
  const pacsUrl = outbound?.url ?? config.pacs;
  const auth = target ? { target } : {};
  if (pacsUrl.startsWith('orthanc:')) {
    const baseUrl = pacsUrl.slice('orthanc:'.length).replace(/\/+$/, '');
    const adapter = createOrthancSource({ baseUrl, dicomWebRoot: config.pacsDicomWebPath, transcode: config.pacsTranscode, logger, ...auth });
    const feed = new OrthancChangeFeed({
      baseUrl,
      cursorStore: cursors,
      pollIntervalMs: config.orthanc.pollIntervalMs,
      fromStart: config.orthanc.fromStart,
      logger,
      ...auth,
    });
    // The sweep delivers what the feed missed (change log cleared or pruned while we were down); see docs/intake.md.
    const reconciliation = new OrthancReconciliation({
      baseUrl,
      cursorStore: cursors,
      marginMs: config.orthanc.reconcileMarginMs,
      pageSize: config.orthanc.reconcilePageSize,
      fromStart: config.orthanc.fromStart,
      logger,
      ...auth,
    });
    const intake = new OrthancIntake({ feed, reconciliation, reconcileSchedule: config.orthanc.reconcileSchedule, logger });
    // Orthanc can delete superseded SEGs through its REST API; storing stays STOW-RS.
    const store = new OrthancImagingStore(adapter, { baseUrl, ...auth });
    return { source: adapter, store, intake, dicomWebEndpoint: `${baseUrl}${config.pacsDicomWebPath}`, ...auth };
  }
  if (pacsUrl.startsWith('dicomweb:')) {
    const url = pacsUrl.slice('dicomweb:'.length).replace(/\/+$/, '');
    const adapter = new DicomWebAdapter({ url, transcode: config.pacsTranscode, logger, ...auth });
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
      ...auth,
    });
    return { source: adapter, store: adapter, intake, dicomWebEndpoint: url, ...auth };
  }
  // No PACS: a folder inbox is the intake and the source; SEGs are written under dataDir/results.
  const index = new FolderIndex(config.inboxDir, config.limits.maxInstanceBytes, vetting.forSource('folder'));
  return {
    source: new FolderImagingSource(index),
    store: new FolderImagingStore(path.join(config.dataDir, 'results')),
    intake: new FolderInbox(index, { quietMs: config.inboxQuietMs, pollIntervalMs: 1000, logger }),
  };
}

async function isSettling(store: SqliteSettlingStore, uid: string): Promise<boolean> {
  const record = await store.get(uid);
  return record !== undefined && record.status !== 'routed';
}

/** Checkpoints of jobs that ended (or that a replaced job database no longer knows) are removed at start. */
async function pruneCheckpoints(checkpoints: FolderJobCheckpoints, jobs: SqliteJobStore, logger: Logger): Promise<void> {
  let removed = 0;
  for (const id of await checkpoints.list()) {
    const job = await jobs.get(id);
    if (job && job.state !== 'succeeded' && job.state !== 'failed') continue;
    await checkpoints.remove(id);
    removed++;
  }
  if (removed > 0) logger.info({ removed }, 'removed checkpoints of jobs that ended');
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
  // Secure default: no authentication means loopback only (src/http/auth/bind-policy.ts); checked before anything starts.
  const withCertificates = clientCertificatesConfigured(config);
  checkBindPolicy({ ...config.http, authConfigured: authConfigured(config, withCertificates), anonymousRoles: config.auth.anonymousRoles }, logger);
  // Read before anything starts: a missing certificate file is a configuration error (src/http/tls.ts).
  const tlsOptions = httpsServerOptions(config.http.tls);
  // The service's own calls to its HTTP API (results into the embedded /fhir) carry a per-process credential.
  const serviceCredential = createServiceCredential();
  const jobs = new SqliteJobStore(path.join(config.dataDir, 'jobs.db'));
  const interrupted = await jobs.requeueInterrupted({ maxInterruptions: config.workers.maxInterruptions });
  if (interrupted.requeued > 0) logger.warn({ requeued: interrupted.requeued }, 'resuming jobs interrupted by the last shutdown (no attempt spent)');
  for (const job of interrupted.parked) {
    logger.error({ jobId: job.id, study: logHash(job.studyInstanceUid), model: job.modelId, interruptions: job.interruptions }, 'job parked: the service stopped while running it too many times');
  }
  // Free space of the data and received dirs: under pressure intake refuses and checkpoints pause (docs/reliability.md).
  const storage = storageMonitorFor(config, logger);
  await storage.start();
  const checkpoints = new FolderJobCheckpoints(path.join(config.dataDir, 'checkpoints'), { maxSegBytes: config.workers.checkpointMaxBytes, spaceAvailable: storage.spaceAvailable, logger });
  await pruneCheckpoints(checkpoints, jobs, logger);

  const models = await loadAllModels(config.modelsDir);
  // Route rules naming a model that is not loaded would silently never apply: refuse them at start.
  const unknownRouteModels = unknownModelProblems(config.routes, models.map((m) => m.manifest.id));
  if (unknownRouteModels.length > 0) throw new AppError('CONFIG_INVALID', `invalid route rules:\n  - ${unknownRouteModels.join('\n  - ')}`);
  const runtime = new WorkerPoolRuntime({ workers: config.workers.concurrency, intraOpThreads: config.workers.inferenceThreads, device: config.inference.device, logger });
  for (const m of models) await runtime.load(m);
  logger.info({ models: models.map((m) => `${m.manifest.id}@${m.manifest.version}`) }, 'models loaded');

  // Untrusted DICOM is vetted in child processes before this process parses it (docs/hostile-input.md).
  const vetting = await createDicomVetting(config, logger);
  const pacs = buildPacs(config, logger, jobs, vetting);
  // An external FHIR server gets its target now, so a bad outbound.fhir (missing key file, bad CA) fails the start.
  const fhirOutbound = /^https?:/.test(config.fhir) ? createOutboundTarget('fhir', config.outbound?.fhir, { url: config.fhir, ...(config.fhirToken ? { bearerToken: config.fhirToken } : {}) }, logger) : undefined;
  // Push intakes (STOW-RS, C-STORE) keep what they receive; jobs from them read it there (docs/push-intake.md).
  const settlingStore = new SqliteSettlingStore(jobs.database);
  // Received files of a study still settling are kept: it has no jobs yet, and they are what routing will read.
  const push = await createPushIntake(config, { jobs, logger, storage, vetter: vetting.forSource('push'), pending: async (uid) => !config.completion.interimReports && (await isSettling(settlingStore, uid)) });
  // Intake and dry-run look studies up directly; jobs go through the PACS breaker (docs/reliability.md).
  const source = routeSources(pacs.source, push);
  const pacsBreaker = new DependencyBreaker({ dependency: 'pacs', probe: () => pacs.source.ping(), ...config.outage, logger });

  let embedded: EmbeddedFhir | undefined;
  if (config.fhir === 'embedded') {
    const publicBaseUrl = config.http.publicBaseUrl ? `${config.http.publicBaseUrl.replace(/\/+$/, '')}/fhir` : undefined;
    embedded = await createEmbeddedFhirApp({ dataFile: path.join(config.dataDir, 'fhir', 'store.ndjson'), ...(publicBaseUrl ? { publicBaseUrl } : {}) });
  }

  // Audit trail (docs/audit.md): JSON lines plus a durable outbox to FHIR, sent through the results' own FHIR client
  // (same credentials and TLS) once that exists, after listen; events before that wait in the outbox.
  let auditTarget: FhirClientSink | undefined;
  const audit = createAuditTrail(config, {
    logger,
    target: () => auditTarget,
    event: { ...(pacs.dicomWebEndpoint ? { pacs: pacs.dicomWebEndpoint } : {}), ...(/^https?:/.test(config.fhir) ? { fhir: config.fhir } : {}) },
  });

  const readiness: ReadinessCheck[] = [
    { name: 'storage', check: storage.readiness },
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

  const fhirBreaker = new DependencyBreaker({ dependency: 'fhir', probe: () => fhirProxy.ping(), ...config.outage, logger });
  const breakers = new Breakers(config.fhir === 'none' ? [pacsBreaker] : [pacsBreaker, fhirBreaker]);
  const jobRunner = new JobRunner(
    {
      source: routeSources(guardSource(pacs.source, pacsBreaker), push),
      store: guardStore(pacs.store, pacsBreaker),
      fhir: config.fhir === 'none' ? null : guardFhir(fhirProxy, fhirBreaker),
      runtime,
      jobs,
      checkpoints,
      // Jobs of a study that changed after routing hold their outputs while it settles again (src/domain/settling.ts).
      ...(config.completion.interimReports
        ? {}
        : { studyChanging: (uid: string) => (studySettler ? studySettler.changingSinceRouting(uid) : Promise.resolve(undefined)), publicationHoldMs: config.completion.windowMs }),
      models: new Map(models.map((m) => [m.manifest.id, m])),
      results: config.results,
      limits: config.limits,
      vetter: vetting.forSource('pacs'),
      logger,
      ...(pacs.dicomWebEndpoint ? { dicomWebEndpoint: pacs.dicomWebEndpoint } : {}),
      ...(audit.log ? { audit: audit.log } : {}),
    },
    { ...config.workers, maxOutageMs: config.outage.maxAgeMs },
    breakers,
  );

  // Studies settle before routing unless a site wants interim reports (src/domain/settling.ts).
  const routeDeps = { jobs, models, logger, routes: config.routes };
  const routeNow = async (event: StudyEvent, study?: StudyInfo): Promise<void> => {
    const outcome = study ? await routeKnownStudy(event, study, routeDeps) : await onStudyEvent(event, { ...routeDeps, source });
    if (outcome.created + outcome.revived > 0) jobRunner.notify();
  };
  const studySettler = config.completion.interimReports
    ? undefined
    : new StudySettler({ policy: config.completion, checkIntervalMs: config.completion.checkIntervalMs, store: settlingStore, source, route: routeNow, logger });

  const app = createApp({
    jobs,
    fhir: config.fhir === 'none' ? null : fhirProxy,
    readiness,
    logger,
    models,
    routes: config.routes,
    source,
    auth: httpAuthFromConfig(config, logger, {
      first: [serviceCredential.authenticator],
      ...(withCertificates ? { clientCertificate: clientCertificateAuthenticator(config.auth.clientCertificates) } : {}),
    }),
    onRetried: () => jobRunner.notify(),
    ...(audit.log ? { audit: audit.log } : {}),
    operations: {
      dependencies: () => breakers.statuses(),
      storage: () => storage.status(),
      ...(studySettler ? { pendingStudies: (limit: number) => studySettler.pending(limit) } : {}),
    },
    ...(embedded ? { embeddedFhir: embedded.router } : {}),
    ...(push?.stowRouter ? { stow: push.stowRouter } : {}),
  });
  // With http.tls the port speaks HTTPS only (docs/tls.md).
  const listen = (s: Server, port: number, host: string): Promise<Server> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve(s));
    });
  const server = await listen(tlsOptions ? (createHttpsServer(tlsOptions, app) as unknown as Server) : createHttpServer(app), config.http.port, config.http.host);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `${tlsOptions ? 'https' : 'http'}://${host}:${port}`;
  // Under HTTPS the service's own FHIR client reaches the embedded /fhir over a loopback-only plain HTTP listener of
  // the same app (same routes and access control): its certificate names the site's host, not 127.0.0.1, and a
  // required client certificate would have to be the service's own. Loopback traffic never leaves the machine/pod.
  const internal = tlsOptions && config.fhir === 'embedded' ? await listen(createHttpServer(app), 0, '127.0.0.1') : undefined;
  const internalAddress = internal?.address();
  const selfUrl = internalAddress && typeof internalAddress === 'object' ? `http://127.0.0.1:${internalAddress.port}` : url;

  if (config.fhir === 'embedded') fhir = new FhirClientSink({ baseUrl: `${selfUrl}/fhir`, bearerToken: serviceCredential.token });
  else if (fhirOutbound) fhir = new FhirClientSink({ baseUrl: fhirOutbound.url, target: fhirOutbound.target });

  if (fhir instanceof FhirClientSink) auditTarget = fhir;
  audit.event.api = url;
  if (config.fhir === 'embedded') audit.event.fhir = `${url}/fhir`;
  audit.start();
  audit.outbox?.notify();

  studySettler?.start();
  const onEvent = (event: StudyEvent): Promise<void> => (studySettler ? studySettler.accept(event) : routeNow(event));
  if (pacs.intake) await pacs.intake.start(onEvent);
  if (push) await push.start(onEvent);
  // Workers start once the intakes have indexed their files: a job resumed after a restart reads the folder inbox,
  // which is empty until its first scan.
  jobRunner.start();
  logger.info({ url, pacs: config.pacs.split(':')[0], fhir: config.fhir.startsWith('http') ? 'external' : config.fhir }, 'clinical-ai listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop(graceMs = 25_000) {
      stopping ??= (async () => {
        logger.info('stopping: no new jobs');
        await pacs.intake?.stop().catch((err: unknown) => logger.error({ err: toAppError(err).message }, 'intake stop failed'));
        await push?.stop().catch((err: unknown) => logger.error({ err: toAppError(err).message }, 'push intake stop failed'));
        await studySettler?.stop();
        const drained = await Promise.race([jobRunner.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
        if (!drained) logger.warn({ inFlight: jobRunner.inFlightCount() }, 'grace period over: jobs in flight resume at next start');
        await Promise.all([server, internal].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve()))));
        server.closeAllConnections?.();
        internal?.closeAllConnections();
        // After the server: requests answered during shutdown are still recorded; what is unsent stays queued.
        await audit.stop();
        breakers.stop();
        await Promise.all([pacs.target, fhirOutbound?.target].map((t) => t?.close()));
        storage.stop();
        await runtime.close();
        await vetting.close();
        await embedded?.close();
        await jobs.close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
