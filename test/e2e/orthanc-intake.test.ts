/**
 * Orthanc intake guarantees through the built service (its own process), a real Orthanc and a real FHIR engine:
 * repeated delivery of one study (change feed replayed after restarts, plus the reconciliation sweep) leaves one job
 * per model, one SEG and one report per job; a study that became stable while the service was down, whose
 * StableStudy change was then dropped from Orthanc's change log, is processed after restart by the sweep.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Bundle } from '@medplum/fhirtypes';
import type { Job } from '../../src/domain/job';
import { logHash } from '../../src/domain/identity';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { syntheticMrSeries } from '../support/synthetic-mr';

const ROOT = path.join(__dirname, '..', '..');

describe('Orthanc intake through the service process: duplicates and missed StableStudy changes', () => {
  let orthanc: TestOrthanc;
  let fhir: TestFhirServer;
  let service: ServiceProcess | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'e2e-intake-'));
  const outputs: string[] = [];

  const env = (): Record<string, string> => ({
    CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
    CLINICAL_AI_PACS_USERNAME: orthanc.username,
    CLINICAL_AI_PACS_PASSWORD: orthanc.password,
    CLINICAL_AI_FHIR: fhir.baseUrl,
    CLINICAL_AI_DATA_DIR: dataDir,
    CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
    CLINICAL_AI_ORTHANC_POLL_INTERVAL_MS: '200',
    CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
    CLINICAL_AI_LOG_LEVEL: 'info',
  });

  const start = async (): Promise<ServiceProcess> => {
    service = await startServiceProcess(env());
    return service;
  };
  const stop = async (): Promise<void> => {
    await service?.stop();
    if (service) outputs.push(...service.output);
    service = undefined;
  };
  const jobsOf = async (s: ServiceProcess, study: string): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs?study=${study}`)).json()) as { jobs: Job[] }).jobs;
  const allSucceeded = (s: ServiceProcess, study: string) => async (): Promise<Job[] | undefined> => {
    const js = await jobsOf(s, study);
    const failed = js.find((j) => j.state === 'failed');
    if (failed) throw new Error(`job failed: ${JSON.stringify(failed.lastError)}`);
    return js.length === 2 && js.every((j) => j.state === 'succeeded') ? js : undefined;
  };
  const segSeries = async (study: string): Promise<number> => {
    const r = await fetch(`${orthanc.dicomWebUrl}/studies/${study}/series?Modality=SEG`, { headers: { Authorization: orthanc.authorization } });
    return r.status === 204 ? 0 : ((await r.json()) as unknown[]).length;
  };
  const reportsFor = async (key: string): Promise<number> => {
    const r = await fetch(`${fhir.baseUrl}/DiagnosticReport?identifier=${encodeURIComponent(`urn:clinical-ai:job|${key}`)}`);
    return ((await r.json()) as Bundle).entry?.length ?? 0;
  };
  /** "study routed" log lines for one study, across every service run so far and the running one. */
  const routed = (study: string): { created: number; existing: number }[] =>
    [...outputs, ...(service?.output ?? [])]
      .filter((l) => l.includes('"msg":"study routed"') && l.includes(logHash(study)))
      .map((l) => JSON.parse(l) as { created: number; existing: number });
  const setCursors = (values: Record<string, string>): void => {
    const db = new Database(path.join(dataDir, 'jobs.db'));
    for (const [name, value] of Object.entries(values)) db.prepare('UPDATE cursors SET value = ? WHERE name = ?').run(value, name);
    db.close();
  };
  const studyOf = (slices: number) => syntheticMrSeries({ slices, rows: 32, columns: 32 });

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    fhir = await startFhirServer();
  });

  afterAll(async () => {
    await stop();
    await orthanc?.stop();
    await fhir?.stop();
  });

  it('when one study is delivered 5 times or more (feed, feed replays after restarts, sweeps), then it has 1 job per model, 1 SEG and 1 report per job', async () => {
    const first = await start();
    const study = studyOf(16);
    for (const f of study.files) await orthanc.upload(f);
    const jobs = await waitFor('both jobs to succeed', allSucceeded(first, study.studyInstanceUid), 90_000);

    // Twice: stop, rewind the change feed to sequence 0 and the sweep to "from the start", start again.
    for (let round = 0; round < 2; round++) {
      await stop();
      setCursors({ 'orthanc-changes': '0', 'orthanc-reconciliation': '' });
      const before = routed(study.studyInstanceUid).length;
      const s = await start();
      await waitFor('the feed replay and the start-up sweep to route the study', async () => (routed(study.studyInstanceUid).length >= before + 2 ? true : undefined), 30_000);
      expect(await jobsOf(s, study.studyInstanceUid)).toHaveLength(2);
    }
    await new Promise((r) => setTimeout(r, 1000));

    const deliveries = routed(study.studyInstanceUid);
    expect(deliveries.length).toBeGreaterThanOrEqual(5);
    expect(deliveries.reduce((n, d) => n + d.created, 0)).toBe(2);
    const after = await jobsOf(service as ServiceProcess, study.studyInstanceUid);
    expect(after.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(after.every((j) => j.state === 'succeeded')).toBe(true);
    expect(await segSeries(study.studyInstanceUid)).toBe(1);
    for (const job of jobs) expect(await reportsFor(job.idempotencyKey)).toBe(1);
  });

  it('when a study becomes stable while the service is down and Orthanc drops its change log, then the sweep processes it after restart', async () => {
    await stop();
    const study = studyOf(16);
    for (const f of study.files) await orthanc.upload(f);
    await waitFor('the study to be stable', async () => {
      const found = await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: study.studyInstanceUid, headers: { authorization: orthanc.authorization } });
      const [hit] = (await found.json()) as { ID: string }[];
      return hit && (await orthanc.getJson<{ IsStable: boolean }>(`/studies/${hit.ID}`)).IsStable ? true : undefined;
    }, 15_000);
    const cleared = await fetch(`${orthanc.baseUrl}/changes`, { method: 'DELETE', headers: { authorization: orthanc.authorization } });
    expect(cleared.ok).toBe(true);
    expect((await orthanc.getJson<{ Changes: unknown[] }>('/changes')).Changes).toEqual([]);

    const s = await start();
    await waitFor('the swept study to be processed', allSucceeded(s, study.studyInstanceUid), 90_000);
    const sweeps = s.output.filter((l) => l.includes('"msg":"Orthanc reconciliation sweep done"')).map((l) => JSON.parse(l) as { emitted: number });
    expect(sweeps[0]?.emitted).toBeGreaterThanOrEqual(1);
    expect(routed(study.studyInstanceUid)[0]).toMatchObject({ created: 2 });
    expect(await segSeries(study.studyInstanceUid)).toBe(1);
  });
});
