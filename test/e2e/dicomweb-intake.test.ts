/**
 * QIDO-RS polling intake through the built service (pacs = dicomweb:…), with Orthanc's DICOMweb plugin as the PACS
 * and a real FHIR engine: a study arriving in two halves is processed once with its full instance set; the SEG the
 * service stores changes the study's counts, which routes it again without a new job; a restart and an identical
 * re-upload add nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import type { Job } from '../../src/domain/job';
import { logHash } from '../../src/domain/identity';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { syntheticMrSeries } from '../support/synthetic-mr';

const ROOT = path.join(__dirname, '..', '..');
const SETTLE_MS = 2000;

describe('DICOMweb PACS → QIDO polling → SEG + report (service process, Orthanc DICOMweb plugin, FHIR engine)', () => {
  let orthanc: TestOrthanc;
  let fhir: TestFhirServer;
  let service: ServiceProcess | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'e2e-qido-'));
  const outputs: string[] = [];
  const study = syntheticMrSeries({ slices: 16, rows: 32, columns: 32 });

  const env = (): Record<string, string> => ({
    CLINICAL_AI_PACS: `dicomweb:${orthanc.dicomWebUrl}`,
    CLINICAL_AI_PACS_USERNAME: orthanc.username,
    CLINICAL_AI_PACS_PASSWORD: orthanc.password,
    CLINICAL_AI_FHIR: fhir.baseUrl,
    CLINICAL_AI_DATA_DIR: dataDir,
    CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
    CLINICAL_AI_DICOMWEB_POLL_SCHEDULE: '* * * * * *',
    CLINICAL_AI_DICOMWEB_SETTLE_MS: String(SETTLE_MS),
    // The first poll may race the first upload; process what it finds rather than taking it as a baseline.
    CLINICAL_AI_DICOMWEB_FROM_START: 'true',
    // The synthetic study is dated 2024-01-02.
    CLINICAL_AI_DICOMWEB_LOOKBACK_DAYS: String(Math.ceil((Date.now() - Date.UTC(2024, 0, 1)) / 86_400_000)),
    CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
    CLINICAL_AI_LOG_LEVEL: 'info',
  });
  const stop = async (): Promise<void> => {
    await service?.stop();
    if (service) outputs.push(...service.output);
    service = undefined;
  };
  const jobsOf = async (s: ServiceProcess): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs?study=${study.studyInstanceUid}`)).json()) as { jobs: Job[] }).jobs;
  const routed = (): { created: number; existing: number; source: string }[] =>
    [...outputs, ...(service?.output ?? [])]
      .filter((l) => l.includes('"msg":"study routed"') && l.includes(logHash(study.studyInstanceUid)))
      .map((l) => JSON.parse(l) as { created: number; existing: number; source: string });
  const polls = (s: ServiceProcess): number => s.output.filter((l) => l.includes('"msg":"QIDO poll done"')).length;

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    fhir = await startFhirServer();
  });

  afterAll(async () => {
    await stop();
    await orthanc?.stop();
    await fhir?.stop();
  });

  it('when a study arrives in two halves, then it is processed once with all instances, and a restart or identical re-upload adds nothing', async () => {
    service = await startServiceProcess(env());
    for (const f of study.files.slice(0, 8)) await orthanc.upload(f);
    await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
    for (const f of study.files.slice(8)) await orthanc.upload(f);

    const s = service;
    const jobs = await waitFor('both jobs to succeed', async () => {
      const js = await jobsOf(s);
      const failed = js.find((j) => j.state === 'failed');
      if (failed) throw new Error(`job failed: ${JSON.stringify(failed.lastError)}`);
      return js.length === 2 && js.every((j) => j.state === 'succeeded') ? js : undefined;
    }, 90_000);
    expect(jobs.every((j) => j.instanceUids.length === 16)).toBe(true);
    expect(routed()[0]).toMatchObject({ source: 'dicomweb', created: 2 });

    // The stored SEG adds a series and an instance: the study settles again and is routed again, creating nothing.
    await waitFor('the study with its SEG to be routed again', async () => (routed().length >= 2 ? true : undefined), 30_000);

    await stop();
    service = await startServiceProcess(env());
    for (const f of study.files) await orthanc.upload(f);
    const restarted = service;
    // Long enough for a re-upload to have settled and been emitted, had it changed anything.
    await waitFor('polls past the settle time', async () => (polls(restarted) >= Math.ceil(SETTLE_MS / 1000) + 2 ? true : undefined), 30_000);

    const deliveries = routed();
    expect(deliveries.reduce((n, d) => n + d.created, 0)).toBe(2);
    expect(deliveries).toHaveLength(2);
    const after = await jobsOf(restarted);
    expect(after.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    const segs = await fetch(`${orthanc.dicomWebUrl}/studies/${study.studyInstanceUid}/series?Modality=SEG`, { headers: { Authorization: orthanc.authorization } });
    expect(((await segs.json()) as unknown[]).length).toBe(1);
    for (const job of jobs) {
      const r = await fetch(`${fhir.baseUrl}/DiagnosticReport?identifier=${encodeURIComponent(`urn:clinical-ai:job|${job.idempotencyKey}`)}`);
      expect(((await r.json()) as Bundle).entry ?? []).toHaveLength(1);
    }
  });
});
