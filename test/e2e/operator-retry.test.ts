/**
 * Issue #10 acceptance: "clinical-ai jobs retry --state failed re-runs failed jobs; the API does the same with the
 * operator role" (an API key holding it, issue #11), and nothing fails for ever silently: jobs given up after an outage longer than outage.maxAgeMs
 * are listed in the dead-letter view with what to do. Real Orthanc as the PACS (not running at first: the SEG store
 * fails), STOW-RS as intake, the built service and CLI as their own processes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Job } from '../../src/domain/job';
import { generateApiKey } from '../../src/http/auth/api-keys';
import { forbidInLogs } from '../support/log-capture';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { sampleStudyCopy, stowBody } from '../support/sample-study';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { bundledModelsDir } from '../support/models-dir';

const ROOT = path.join(__dirname, '..', '..');
// API keys (auth.apiKeys): the operator's, and a viewer's that must not retry.
const operatorKey = generateApiKey();
const viewerKey = generateApiKey();
const TOKEN = operatorKey.key;
const API_KEYS = JSON.stringify([
  { id: 'ops', sha256: operatorKey.sha256, roles: ['viewer', 'sender', 'operator'] },
  { id: 'dashboard', sha256: viewerKey.sha256, roles: ['viewer'] },
]);
const AS_OPERATOR = { 'x-api-key': TOKEN };
// The keys themselves are secrets no service log line may carry (test/support/log-capture.ts).
forbidInLogs('API key', operatorKey.key, viewerKey.key);

describe('R10.6 operator retry of failed jobs (CLI and API) after an outage longer than allowed', () => {
  let orthanc: TestOrthanc | undefined;
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    await service?.stop();
    await orthanc?.stop();
  });

  it('when jobs were given up while the PACS was down, then the dead letter lists them and the API and the CLI re-run them', async () => {
    const orthancPort = await freePort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'retry-'));
    const models = bundledModelsDir('retry-models-');
    // Orthanc's credentials are fixed by the helper at start; the service needs them now, so start and crash it first.
    orthanc = await startOrthanc({ port: orthancPort });
    await orthanc.crash();
    service = await startServiceProcess({
      CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
      CLINICAL_AI_PACS_USERNAME: orthanc.username,
      CLINICAL_AI_PACS_PASSWORD: orthanc.password,
      CLINICAL_AI_DATA_DIR: dataDir,
      CLINICAL_AI_MODELS_DIR: models,
      CLINICAL_AI_PUSH_QUIET_MS: '200',
      CLINICAL_AI_PUSH_POLL_INTERVAL_MS: '100',
      CLINICAL_AI_COMPLETION_QUIET_MS: '200',
      CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
      CLINICAL_AI_OUTAGE_MAX_AGE_MS: '2000',
      CLINICAL_AI_AUTH_API_KEYS: API_KEYS,
    });
    const s = service;
    const jobs = async (): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs`, { headers: AS_OPERATOR })).json()) as { jobs: Job[] }).jobs;
    const studies = [sampleStudyCopy('retry-a', { slices: 20 }), sampleStudyCopy('retry-b', { slices: 20 })];
    for (const study of studies) {
      const { body, contentType } = stowBody(study.files);
      expect((await fetch(`${s.url}/dicomweb/studies`, { method: 'POST', headers: { 'content-type': contentType, ...AS_OPERATOR }, body })).status).toBe(200);
    }
    const failed = await waitFor('both jobs to be given up', async () => {
      const js = await jobs();
      return js.length === 2 && js.every((j) => j.state === 'failed') ? js : undefined;
    }, 60_000);
    expect(failed.map((j) => j.lastError)).toEqual(failed.map(() => ({ code: 'PACS_UNAVAILABLE', retryable: true, message: expect.stringContaining('outage.maxAgeMs') })));

    const deadLetter = (await (await fetch(`${s.url}/jobs/dead-letter`, { headers: AS_OPERATOR })).json()) as { total: number; groups: { code: string; count: number; retryable: boolean }[] };
    expect(deadLetter).toMatchObject({ total: 2, groups: [{ code: 'PACS_UNAVAILABLE', count: 2, retryable: true }] });
    const cli = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
      promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'clinical-ai.js'), ...args], { env: { PATH: process.env.PATH ?? '', CLINICAL_AI_DATA_DIR: dataDir } });
    expect(JSON.parse((await cli('jobs', 'dead-letter')).stdout)).toMatchObject({ total: 2, groups: [{ code: 'PACS_UNAVAILABLE', count: 2 }] });

    await orthanc.start();
    // An operator retries once the PACS is back: the service says so within outage.probeMaxMs.
    await waitFor('the service to see the PACS answer again', async () => {
      const status = (await (await fetch(`${s.url}/status`, { headers: AS_OPERATOR })).json()) as { dependencies: { dependency: string; state: string }[] };
      return status.dependencies.find((d) => d.dependency === 'pacs')?.state === 'closed' ? true : undefined;
    }, 30_000);
    const [first, second] = failed as [Job, Job];
    // The API: operator role required.
    const retry = (id: string, auth?: string): Promise<Response> => fetch(`${s.url}/jobs/${id}/retry`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
    const anonymous = await retry(first.id);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    expect((await retry(first.id, `Bearer ${viewerKey.key}`)).status).toBe(403);
    expect((await retry(first.id, 'Bearer cai_not-a-configured-key-000000000000000000000')).status).toBe(401);
    const accepted = await retry(first.id, `Bearer ${TOKEN}`);
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as Job).state).toBe('queued');
    await waitFor('the job retried by the API to succeed', async () => {
      const job = (await jobs()).find((j) => j.id === first.id);
      if (job?.state === 'failed') throw new Error(`failed again: ${JSON.stringify(job.lastError)}`);
      return job?.state === 'succeeded' ? true : undefined;
    }, 60_000);
    expect((await retry(first.id, `Bearer ${TOKEN}`)).status).toBe(409);

    // The CLI, against the running service's job database.
    const { stdout, stderr } = await cli('jobs', 'retry', '--state', 'failed');
    expect(stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([second.id]);
    expect(stderr).toContain('1 failed job(s) queued again');
    const done = await waitFor('the job retried by the CLI to succeed', async () => {
      const js = await jobs();
      return js.every((j) => j.state === 'succeeded') ? js : undefined;
    }, 60_000);
    expect(done.map((j) => j.attempts)).toEqual([1, 1]);
    for (const study of studies) {
      const r = await fetch(`${orthanc.dicomWebUrl}/studies/${study.studyInstanceUid}/series?Modality=SEG`, { headers: { Authorization: orthanc.authorization } });
      expect(((await r.json()) as unknown[]).length).toBe(1);
    }
  }, 180_000);
});
