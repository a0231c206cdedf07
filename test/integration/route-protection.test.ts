/**
 * Issue #11 acceptance: every route, listed from the Express router (mounted routers included, nothing by hand),
 * answers 401 without credentials and 403 with a role that is not enough, except /healthz and /readyz. A route
 * added without requireRole passes its handler for every role, so this test fails for it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type express from 'express';
import request from 'supertest';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../../adapters/fhir-embedded/embedded-fhir-app';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { ReceivedStore } from '../../adapters/push/received-store';
import { createStowRouter } from '../../adapters/push/stow-router';
import { ROLES, type Role } from '../../src/domain/principal';
import { createApp } from '../../src/http/app';
import { apiKeyAuthenticator, generateApiKey } from '../../src/http/auth/api-keys';
import { silentLogger } from '../../src/logging';
import { loadAllModels } from '../../src/service';

const OPEN = new Set(['GET /healthz', 'GET /readyz']);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Endpoint {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string | string[];
  name: string;
}

/** A concrete path for a route pattern: each :param or *splat gets a plausible value. */
const concrete = (p: string): string => p.replace(/:([A-Za-z]+)/g, (_m, name: string) => (/uid|study/i.test(name) ? '1.2.3' : 'x')).replace(/\*[A-Za-z]+/g, 'x').replace(/[{}]/g, '');

/**
 * Every endpoint of an Express 5 router: route layers with their methods, and for a mounted sub-router its routes
 * plus every method on a path below the mount (a catch-all middleware such as the embedded FHIR store's handles
 * requests without a route layer).
 */
function endpoints(stack: Layer[], prefix = ''): Endpoint[] {
  const out: Endpoint[] = [];
  for (const layer of stack) {
    const paths = (p: string | string[] | undefined): string[] => (p === undefined ? [''] : Array.isArray(p) ? p : [p]);
    if (layer.route) {
      for (const p of paths(layer.route.path)) for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push({ method: m.toUpperCase(), path: prefix + concrete(p) });
    } else if (layer.handle.stack) {
      for (const mount of paths(layer.rawPath)) {
        const base = prefix + (mount === '/' ? '' : concrete(mount));
        out.push(...endpoints(layer.handle.stack, base));
        if (base !== prefix) for (const m of METHODS) out.push({ method: m.toUpperCase(), path: `${base}/Patient/x` });
      }
    }
  }
  return out;
}

describe('R11 every route needs authentication and the right role', () => {
  let fhir: EmbeddedFhir;
  let app: express.Express;
  const keys = new Map<Role, string>();

  beforeAll(async () => {
    fhir = await createEmbeddedFhirApp();
    const entries = [];
    for (const role of ROLES) {
      const { key, sha256 } = generateApiKey();
      keys.set(role, key);
      entries.push({ id: `key-${role}`, sha256, roles: [role] });
    }
    const received = new ReceivedStore(mkdtempSync(path.join(tmpdir(), 'routes-')), { maxInstanceBytes: 1 << 20, logger: silentLogger });
    app = createApp({
      jobs: new MemoryJobStore(),
      fhir: null,
      readiness: [],
      logger: silentLogger,
      models: await loadAllModels(path.join(__dirname, '..', '..', 'models')),
      operations: { dependencies: () => [], pendingStudies: async () => [], storage: () => ({ state: 'ok', paths: [] }) },
      embeddedFhir: fhir.router,
      stow: createStowRouter({ store: received, maxBodyBytes: 1 << 20, logger: silentLogger }),
      auth: { authenticators: [apiKeyAuthenticator(entries)], failedAttemptsPerMinute: 100_000 },
    });
  });
  afterAll(async () => fhir.close());

  it('when the router is walked, then it finds the mounted routers and every known kind of route', () => {
    const found = endpoints((app as unknown as { router: { stack: Layer[] } }).router.stack).map((e) => `${e.method} ${e.path}`);
    // Guards against a walk that silently finds nothing (then the next test would pass for no route).
    for (const expected of ['GET /healthz', 'GET /jobs', 'POST /jobs/x/retry', 'GET /metrics', 'POST /route/dry-run', 'POST /dicomweb/studies', 'GET /fhir/metadata', 'DELETE /fhir/Patient/x']) {
      expect(found).toContain(expected);
    }
  });

  it('when any route but /healthz and /readyz is called without credentials, then 401; with each single role, 403 unless it is the route role; admin passes', async () => {
    const all = endpoints((app as unknown as { router: { stack: Layer[] } }).router.stack);
    const problems: string[] = [];
    for (const { method, path: p } of all) {
      const name = `${method} ${p}`;
      const call = (key?: string) => {
        const r = request(app)[method.toLowerCase() as (typeof METHODS)[number]](p);
        return key ? r.set('x-api-key', key) : r;
      };
      const anonymous = await call();
      if (OPEN.has(name)) {
        if (anonymous.status === 401 || anonymous.status === 403) problems.push(`${name}: open route answered ${anonymous.status}`);
        continue;
      }
      if (anonymous.status !== 401) problems.push(`${name}: without credentials ${anonymous.status}, not 401`);
      if (anonymous.status === 401 && !/^Bearer realm="clinical-ai"/.test(String(anonymous.headers['www-authenticate']))) problems.push(`${name}: 401 without a Bearer challenge`);
      const byRole = await Promise.all(ROLES.filter((r) => r !== 'admin').map(async (r) => [r, (await call(keys.get(r))).status] as const));
      const passing = byRole.filter(([, s]) => s !== 403 && s !== 401).map(([r]) => r);
      if (passing.length === byRole.length) problems.push(`${name}: every role passes (${byRole.map(([r, s]) => `${r} ${s}`).join(', ')}): no role check`);
      if (passing.length > 1) problems.push(`${name}: more than one role passes (${passing.join(', ')})`);
      const admin = (await call(keys.get('admin'))).status;
      if (admin === 401 || admin === 403) problems.push(`${name}: admin refused with ${admin}`);
    }
    expect(problems).toEqual([]);
    expect(all.length).toBeGreaterThan(15);
  }, 60_000);

  it('when the embedded FHIR store is read or written, then viewer reads, only admin writes, and refusals are OperationOutcomes', async () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'Test' }] };
    const anonymous = await request(app).post('/fhir/Patient').send(patient);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
    for (const role of ['viewer', 'sender', 'operator'] as const) {
      const res = await request(app).post('/fhir/Patient').set('x-api-key', keys.get(role) as string).send(patient);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    }
    const created = await request(app).post('/fhir/Patient').set('x-api-key', keys.get('admin') as string).send(patient);
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await request(app).get(`/fhir/Patient/${id}`).set('x-api-key', keys.get('viewer') as string)).status).toBe(200);
    expect((await request(app).post('/fhir/Patient/_search').set('x-api-key', keys.get('viewer') as string)).status).toBe(200);
    expect((await request(app).delete(`/fhir/Patient/${id}`).set('x-api-key', keys.get('viewer') as string)).status).toBe(403);
    expect((await request(app).put(`/fhir/Patient/${id}`).set('x-api-key', keys.get('operator') as string).send({ ...patient, id })).status).toBe(403);
    expect((await request(app).get(`/fhir/Patient/${id}`).set('x-api-key', keys.get('viewer') as string)).status).toBe(200);
  });

  it('when a response is sent, then it carries security headers (helmet) and no X-Powered-By', async () => {
    const res = await request(app).get('/healthz');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
