import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import express from 'express';
import request from 'supertest';
import { buildResultBundle } from '../../src/fhir/bundle';
import { segmentationContext } from '../../test/support/fhir-contexts';
import { createEmbeddedFhirApp, type EmbeddedFhir } from './embedded-fhir-app';

async function appWith(dataFile?: string, publicBaseUrl?: string): Promise<{ app: express.Express; fhir: EmbeddedFhir }> {
  const fhir = await createEmbeddedFhirApp({ dataFile, ...(publicBaseUrl ? { publicBaseUrl } : {}) });
  const app = express();
  app.use('/fhir', fhir.router);
  return { app, fhir };
}

const JSON_FHIR = 'application/fhir+json';

describe('embedded FHIR store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fhir-embedded-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('when a transaction is written and the store restarts on the same file, then every resource is back with its id', async () => {
    const dataFile = join(dir, 'fhir.ndjson');
    const first = await appWith(dataFile);
    const written = await request(first.app).post('/fhir').set('content-type', JSON_FHIR).send(buildResultBundle(segmentationContext()));
    expect(written.status).toBe(200);
    const locations = (written.body as Bundle).entry?.map((e) => e.response?.location);
    await first.fhir.close();

    const second = await appWith(dataFile);
    for (const location of locations ?? []) {
      const read = await request(second.app).get(`/fhir/${location}`);
      expect([location, read.status]).toEqual([location, 200]);
    }
    const again = await request(second.app).post('/fhir').set('content-type', JSON_FHIR).send(buildResultBundle(segmentationContext()));
    expect((again.body as Bundle).entry?.map((e) => e.response?.location)).toEqual(locations);
    const reports = await request(second.app).get('/fhir/DiagnosticReport');
    expect((reports.body as Bundle).entry).toHaveLength(1);
    await second.fhir.close();
  });

  it('when the data file ends in a torn line, then the store loads what came before and compacts the file', async () => {
    const dataFile = join(dir, 'fhir.ndjson');
    const line = JSON.stringify({ resourceType: 'Patient', id: 'p1', meta: { versionId: 'v1' }, gender: 'other' });
    await writeFile(dataFile, `${line}\n{"resourceType":"Pat`);
    const { app, fhir } = await appWith(dataFile);
    expect((await request(app).get('/fhir/Patient/p1')).status).toBe(200);
    expect(await readFile(dataFile, 'utf8')).toBe(`${line}\n`);
    await fhir.close();
  });

  it('when an entry of a transaction fails, then none of its entries are kept (memory and file)', async () => {
    const dataFile = join(dir, 'fhir.ndjson');
    const { app, fhir } = await appWith(dataFile);
    const bundle = buildResultBundle(segmentationContext());
    const last = bundle.entry?.[bundle.entry.length - 1];
    if (last?.request) last.request.url = 'Observation'; // resource type mismatch → 400 on the last entry
    const res = await request(app).post('/fhir').set('content-type', JSON_FHIR).send(bundle);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await request(app).get('/fhir/Patient')).body.entry ?? []).toHaveLength(0);
    await fhir.close();
    expect(await readFile(dataFile, 'utf8')).toBe('');
  });

  it('when searching with _include, then the included results come after the matches with search.mode include', async () => {
    const { app, fhir } = await appWith();
    const written = await request(app).post('/fhir').set('content-type', JSON_FHIR).send(buildResultBundle(segmentationContext()));
    const patient = (written.body as Bundle).entry?.[0]?.response?.location;
    const res = await request(app).get(`/fhir/DiagnosticReport?patient=${patient}&_include=DiagnosticReport:result`);
    const entries = (res.body as Bundle).entry ?? [];
    expect(entries.map((e) => [e.resource?.resourceType, e.search?.mode])).toEqual([
      ['DiagnosticReport', 'match'],
      ['Observation', 'include'],
      ['Observation', 'include'],
    ]);
    expect(entries[0]?.fullUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/DiagnosticReport\//);
    await fhir.close();
  });

  it('when a search has more matches than _count, then a next link pages through them', async () => {
    const { app, fhir } = await appWith();
    for (let i = 0; i < 3; i++) {
      await request(app).post('/fhir/Patient').set('content-type', JSON_FHIR).send({ resourceType: 'Patient', gender: 'other' });
    }
    const page1 = (await request(app).get('/fhir/Patient?_count=2')).body as Bundle;
    expect(page1.entry).toHaveLength(2);
    const next = new URL(page1.link?.find((l) => l.relation === 'next')?.url ?? '');
    const page2 = (await request(app).get(`${next.pathname}${next.search}`)).body as Bundle;
    expect(page2.entry).toHaveLength(1);
    expect(page2.link?.some((l) => l.relation === 'next')).toBe(false);
    await fhir.close();
  });

  describe('when a client forges the Host and X-Forwarded-* headers', () => {
    const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const urlsOf = (res: request.Response): string[] => {
      const bundle = res.body as Bundle;
      return [...(bundle.link ?? []).map((l) => l.url ?? ''), ...(bundle.entry ?? []).map((e) => e.fullUrl ?? ''), res.headers.location ?? ''].filter(Boolean);
    };
    async function writeAndSearch(app: express.Express): Promise<string[]> {
      const created = await request(app).post('/fhir/Patient').set(forged).set('content-type', JSON_FHIR).send({ resourceType: 'Patient', gender: 'other' });
      await request(app).post('/fhir/Patient').set('content-type', JSON_FHIR).send({ resourceType: 'Patient', gender: 'other' });
      const search = await request(app).get('/fhir/Patient?_count=1').set(forged);
      const urls = [...urlsOf(created), ...urlsOf(search)];
      expect(urls.length).toBeGreaterThanOrEqual(4); // Location, self, next and a fullUrl
      return urls;
    }

    it('then fullUrl, Location and paging links use the connection address, never the forged host', async () => {
      const { app, fhir } = await appWith();
      const urls = await writeAndSearch(app);
      for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir\//);
      await fhir.close();
    });

    it('then with publicBaseUrl configured, every link starts with it', async () => {
      const { app, fhir } = await appWith(undefined, 'https://ai.hospital.example/fhir/');
      const urls = await writeAndSearch(app);
      for (const url of urls) expect(url.startsWith('https://ai.hospital.example/fhir/')).toBe(true);
      await fhir.close();
    });
  });
});
