/**
 * Issue #11 secure defaults and the service credential, on the real service (startService in this process):
 * a non-loopback bind without authentication refuses to start naming http.allowAnonymous; allowAnonymous starts
 * and warns; with API keys on 0.0.0.0 anonymous callers get 401 while the service still writes its own results to
 * the embedded /fhir (per-process credential) and a viewer key reads them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Bundle } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config';
import type { Job } from '../../src/domain/job';
import { generateApiKey } from '../../src/http/auth/api-keys';
import { createLogger } from '../../src/logging';
import { startService, type RunningService } from '../../src/service';
import { sampleStudyCopy } from '../support/sample-study';
import { waitFor } from '../support/service-process';
import { bundledModelsDir } from '../support/models-dir';


function setup(http: Record<string, unknown>, auth: Record<string, unknown> = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-svc-'));
  const models = bundledModelsDir('auth-svc-models-');
  const config = loadConfig({
    env: {},
    overrides: { dataDir, modelsDir: models, inboxQuietMs: 200, completion: { quietMs: 200 }, workers: { pollIntervalMs: 50 }, http: { port: 0, ...http }, auth, logLevel: 'debug' },
  });
  const lines: string[] = [];
  const destination = new Writable({
    write: (c: Buffer, _e, cb) => {
      lines.push(c.toString());
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  return { config, logger, lines, dataDir };
}

describe('R11 secure defaults of serve', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.stop(1000);
    service = undefined;
  });

  it('when http.host is not loopback and no authentication is configured, then the service refuses to start naming http.allowAnonymous', async () => {
    const { config, logger } = setup({ host: '0.0.0.0' });
    await expect(startService(config, logger)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('http.allowAnonymous') });
  });

  it('when http.allowAnonymous is true, then it starts on 0.0.0.0, warns, and anonymous callers read but cannot write the embedded FHIR store', async () => {
    const { config, logger, lines } = setup({ host: '0.0.0.0', allowAnonymous: true });
    service = await startService(config, logger);
    expect(lines.filter((l) => l.includes('"level":40') && l.includes('http.allowAnonymous is true'))).toHaveLength(1);
    expect((await fetch(`${service.url}/jobs`)).status).toBe(200);
    expect((await fetch(`${service.url}/fhir/Patient`)).status).toBe(200);
    const write = await fetch(`${service.url}/fhir/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient' }) });
    expect(write.status).toBe(403);
  });

  it('when API keys are configured on 0.0.0.0, then anonymous callers get 401, the service still writes its report to the embedded FHIR store, and a viewer key reads it', async () => {
    const viewer = generateApiKey();
    const { config, logger, lines, dataDir } = setup({ host: '0.0.0.0' }, { apiKeys: [{ id: 'dashboard', sha256: viewer.sha256, roles: ['viewer'] }] });
    const study = sampleStudyCopy('auth-service', { slices: 20 });
    mkdirSync(path.join(dataDir, 'inbox'), { recursive: true });
    study.files.forEach((f, i) => writeFileSync(path.join(dataDir, 'inbox', `${i}.dcm`), f));
    service = await startService(config, logger);
    const s = service;
    expect((await fetch(`${s.url}/jobs`)).status).toBe(401);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const headers = { 'x-api-key': viewer.key };
    const jobs = async (): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs`, { headers })).json()) as { jobs: Job[] }).jobs;
    await waitFor('the job to succeed', async () => {
      const js = await jobs();
      if (js.some((j) => j.state === 'failed')) throw new Error(`failed: ${JSON.stringify(js.map((j) => j.lastError))}`);
      return js.length === 1 && js[0]?.state === 'succeeded' ? true : undefined;
    }, 120_000);
    const reports = (await (await fetch(`${s.url}/studies/${study.studyInstanceUid}/reports`, { headers })).json()) as Bundle;
    expect(reports.total).toBe(1);
    const search = (await (await fetch(`${s.url}/fhir/DiagnosticReport`, { headers })).json()) as Bundle;
    expect(search.entry?.length).toBeGreaterThan(0);
    // The service credential is never logged, and the viewer key neither.
    const all = lines.join('\n');
    expect(all).not.toMatch(/cai-svc_[A-Za-z0-9_-]{20}/);
    expect(all).not.toContain(viewer.key);
  }, 180_000);
});
