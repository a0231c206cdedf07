/**
 * Issue #10 "Resume, don't repeat": a job that fails after its SEG is stored resumes at the failed stage. Real
 * pipeline (brain-mask-2d on the sample MR through onnxruntime in a worker), real FHIR engine on loopback; the FHIR
 * sink refuses its first transaction like a server answering 503 (a scripted failure, named as such), and the
 * runtime is wrapped only to count inference calls.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { FolderJobCheckpoints } from '../../adapters/checkpoints/folder-job-checkpoints';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { FolderImagingSource } from '../../adapters/folder/folder-imaging-source';
import { FolderImagingStore } from '../../adapters/folder/folder-imaging-store';
import { FolderIndex } from '../../adapters/folder/folder-index';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { loadConfig } from '../../src/config';
import { AppError } from '../../src/domain/errors';
import { WorkerPoolRuntime } from '../../src/inference/worker-pool';
import { silentLogger } from '../../src/logging';
import type { PipelineRuntime } from '../../src/pipeline/context';
import { JobRunner } from '../../src/pipeline/job-runner';
import { onStudyEvent } from '../../src/pipeline/on-study-event';
import type { FhirSink } from '../../src/ports/fhir-sink';
import { loadAllModels } from '../../src/service';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

describe('R10.3 a job that failed after storing its SEG resumes at the failed stage (real pipeline, real FHIR engine)', () => {
  let fhir: TestFhirServer;
  let runtime: WorkerPoolRuntime;
  beforeAll(async () => {
    fhir = await startFhirServer();
    runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1, device: 'cpu', logger: silentLogger });
  });
  afterAll(async () => {
    await runtime?.close();
    await fhir?.stop();
  });

  it('when the FHIR write fails once, then the re-run writes FHIR without retrieving, inferring or storing again', async () => {
    const config = loadConfig({ env: {}, overrides: { modelsDir: path.join(ROOT, 'models') } });
    const models = (await loadAllModels(config.modelsDir)).filter((m) => m.manifest.id === 'brain-mask-2d');
    for (const m of models) await runtime.load(m);
    const index = new FolderIndex(SAMPLE, config.limits.maxInstanceBytes);
    await index.scan();
    const jobs = new MemoryJobStore();
    const work = mkdtempSync(path.join(tmpdir(), 'resume-'));
    const checkpoints = new FolderJobCheckpoints(path.join(work, 'checkpoints'), { maxSegBytes: 64 << 20, logger: silentLogger });

    let retrievals = 0;
    const folderSource = new FolderImagingSource(index);
    const source = { ...folderSource, getStudy: folderSource.getStudy.bind(folderSource), ping: folderSource.ping.bind(folderSource), retrieveInstances: (...a: Parameters<FolderImagingSource['retrieveInstances']>) => (retrievals++, folderSource.retrieveInstances(...a)) };
    let stores = 0;
    const folderStore = new FolderImagingStore(path.join(work, 'results'));
    const store = { store: (...a: Parameters<FolderImagingStore['store']>) => (stores++, folderStore.store(...a)), ping: () => folderStore.ping() };
    let inferenceCalls = 0;
    const counted = new Proxy(runtime, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (prop === 'run' || prop === 'runSlidingWindow') inferenceCalls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as unknown as PipelineRuntime;
    const real = new FhirClientSink({ baseUrl: fhir.baseUrl });
    let transactions = 0;
    let inferenceCallsAtFailure = -1;
    const fhirSink: FhirSink = {
      writeTransaction: async (key, bundle) => {
        transactions++;
        if (transactions === 1) inferenceCallsAtFailure = inferenceCalls;
        if (transactions === 1) throw new AppError('FHIR_UNAVAILABLE', 'FHIR server answered HTTP 503 to the result transaction (scripted)', { retryable: true });
        return real.writeTransaction(key, bundle);
      },
      updateResource: (ref, change) => real.updateResource(ref, change),
      reportsForStudy: (uid) => real.reportsForStudy(uid),
      ping: () => real.ping(),
    };
    const deps = { source, store, fhir: fhirSink, runtime: counted, jobs, checkpoints, models: new Map(models.map((m) => [m.manifest.id, m])), results: config.results, limits: config.limits, logger: silentLogger };
    const runner = new JobRunner(deps, { ...config.workers, backoffInitialMs: 0, backoffMaxMs: 0 });

    const [uid] = index.studyUids();
    await onStudyEvent({ studyInstanceUid: uid as string, source: 'folder', receivedAt: new Date().toISOString() }, { source, jobs, models, logger: silentLogger });
    await runner.drain();
    const [job] = await jobs.list();
    expect(job).toMatchObject({ state: 'succeeded', attempts: 2 });
    // Retrieval, inference and the SEG store ran in the first attempt only; FHIR was written by the second.
    expect(inferenceCallsAtFailure).toBeGreaterThan(0);
    expect({ retrievals, inferenceCalls, stores, transactions }).toEqual({ retrievals: 1, inferenceCalls: inferenceCallsAtFailure, stores: 1, transactions: 2 });

    // One DiagnosticReport for the job, and its checkpoint is gone now that it ended.
    const reports = (await (await fetch(`${fhir.baseUrl}/DiagnosticReport?_count=50`)).json()) as Bundle;
    expect(reports.entry?.filter((e) => e.resource?.id === job?.result?.reportId)).toHaveLength(1);
    expect(readdirSync(path.join(work, 'checkpoints'))).toEqual([]);
  }, 120_000);
});
