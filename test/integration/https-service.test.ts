/**
 * `serve` with http.tls and required client certificates (in-process startService, real models, embedded FHIR): the
 * port speaks HTTPS only, a client without a certificate is refused in the handshake, a mapped one reads, and the
 * service still writes its own results into the embedded /fhir (over its loopback-only internal listener).
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import type { Job } from '../../src/domain/job';
import { silentLogger } from '../../src/logging';
import { startService, type RunningService } from '../../src/service';
import { waitFor } from '../support/service-process';
import { createTestPki, pem, type CertFiles, type TestPki } from '../support/test-pki';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

function get(url: string, pki: TestPki, client?: CertFiles): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: pem(pki.caCert), agent: false, ...(client ? { cert: pem(client.cert), key: pem(client.key) } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve over HTTPS with required client certificates', () => {
  let pki: TestPki;
  let viewer: CertFiles;
  let service: RunningService;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'https-service-'));

  beforeAll(async () => {
    pki = await createTestPki();
    viewer = await pki.client('viewer', '/O=Hospital/CN=reading-room');
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        modelsDir: path.join(ROOT, 'models'),
        inboxQuietMs: 300,
        workers: { pollIntervalMs: 100 },
        completion: { quietMs: 0, checkIntervalMs: 100 },
        http: { host: '127.0.0.1', port: 0, tls: { certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.caCert, clientCertificates: 'required' } },
        auth: { clientCertificates: [{ subject: 'reading-room', roles: ['viewer'] }] },
      },
    });
    service = await startService(config, silentLogger);
  }, 120_000);

  afterAll(async () => {
    await service?.stop(1000);
  });

  it('when it listens, then its URL is https and a client without a certificate is refused in the handshake', async () => {
    expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(get(`${service.url}/healthz`, pki)).rejects.toThrow();
    expect((await get(`${service.url}/healthz`, pki, viewer)).status).toBe(200);
  });

  it('when a mapped certificate asks /readyz, then the service reaches its own embedded FHIR store', async () => {
    const ready = await waitFor('ready', async () => {
      const r = await get(`${service.url}/readyz`, pki, viewer);
      return r.status === 200 ? r.body : undefined;
    }, 30_000);
    expect(ready).toMatchObject({ status: 'ready' });
  });

  it('when a study is dropped in the inbox, then its results are written to the embedded FHIR store and the viewer certificate reads them', async () => {
    const inbox = path.join(dataDir, 'inbox', 'study');
    mkdirSync(inbox, { recursive: true });
    for (let i = 30; i < 46; i++) copyFileSync(path.join(SAMPLE_DIR, `IM${String(i).padStart(4, '0')}.dcm`), path.join(inbox, `IM${i}.dcm`));
    const jobs = await waitFor('jobs to finish', async () => {
      const r = (await get(`${service.url}/jobs`, pki, viewer)).body as { jobs: Job[] };
      return r.jobs.length === 2 && r.jobs.every((j) => j.state === 'succeeded' || j.state === 'failed') ? r.jobs : undefined;
    }, 120_000);
    expect(jobs.map((j) => [j.modelId, j.state]).sort()).toEqual([
      ['brain-mask-2d', 'succeeded'],
      ['mr-plane-classifier', 'succeeded'],
    ]);
    const study = jobs[0]?.studyInstanceUid as string;
    const reports = (await get(`${service.url}/studies/${study}/reports`, pki, viewer)).body as { total: number };
    expect(reports.total).toBe(2);
  }, 150_000);
});
