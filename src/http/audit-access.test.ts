import express from 'express';
import request from 'supertest';
import { MemoryAuditLog } from '../../adapters/memory/memory-audit-log';
import { describeIssues, fhirErrors } from '../../test/support/fhir-validate';
import type { Principal } from '../domain/principal';
import { auditAccess } from './audit-access';

const STUDY = '1.2.826.0.1.3680043.8.498.5';
const viewer: Principal = { kind: 'oidc', subject: 'dr-a', issuer: 'https://idp.example', roles: ['viewer'], clientAddress: '127.0.0.1' };
const service: Principal = { kind: 'service', subject: 'clinical-ai', roles: ['admin'], clientAddress: '127.0.0.1' };

/** A small app shaped like ours: audit first, then a stand-in for authentication (x-test-as header), then routes. */
function app(audit: MemoryAuditLog): express.Express {
  const a = express();
  a.use(auditAccess(audit));
  a.use((req, res, next) => {
    const as = req.headers['x-test-as'];
    if (as === 'viewer') res.locals.principal = viewer;
    if (as === 'service') res.locals.principal = service;
    if (as === 'bad') return void res.status(401).json({ error: 'bad token' });
    next();
  });
  a.get('/healthz', (_q, r) => void r.json({ ok: true }));
  a.get('/studies/:uid/reports', (_q, r) => void r.json({ entry: [] }));
  a.get('/jobs', (_q, r) => void r.json({ jobs: [] }));
  a.get('/fhir/:type/:id', (_q, r) => void r.json({}));
  a.put('/fhir/:type/:id', (_q, r) => void r.json({}));
  a.post('/jobs/:id/retry', (_q, r) => void r.status(403).json({}));
  return a;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('auditAccess', () => {
  it('when a viewer reads a study\'s reports, then one api-read names the caller, its address and the study', async () => {
    const audit = new MemoryAuditLog();
    await request(app(audit)).get(`/studies/${STUDY}/reports`).set('x-test-as', 'viewer').expect(200);
    await settle();
    expect(audit.records).toHaveLength(1);
    const [record] = audit.records;
    expect(record).toMatchObject({ action: 'api-read', outcome: 'success', agent: { subject: 'dr-a' }, interaction: 'search' });
    expect(record?.entities).toContainEqual({ kind: 'study', id: STUDY });
    expect(record?.entities).toContainEqual({ kind: 'query', id: `GET /studies/${STUDY}/reports` });
    expect(describeIssues(fhirErrors(audit.events[0]!))).toBe('');
  });

  it('when the jobs of a study are listed, then the study of the query parameter is an entity', async () => {
    const audit = new MemoryAuditLog();
    await request(app(audit)).get(`/jobs?study=${STUDY}`).set('x-test-as', 'viewer').expect(200);
    await settle();
    expect(audit.records[0]?.entities).toContainEqual({ kind: 'study', id: STUDY });
  });

  it('when a FHIR resource is read and another changed, then a read of Type/id and an api-write update are recorded', async () => {
    const audit = new MemoryAuditLog();
    const a = app(audit);
    await request(a).get('/fhir/Patient/p1').set('x-test-as', 'viewer').expect(200);
    await request(a).put('/fhir/DiagnosticReport/r1').set('x-test-as', 'viewer').send({}).expect(200);
    await settle();
    expect(audit.records.map((r) => [r.action, r.interaction])).toEqual([['api-read', 'read'], ['api-write', 'update']]);
    expect(audit.records[0]?.entities).toContainEqual({ kind: 'fhir-resource', id: 'Patient/p1' });
  });

  it('when credentials are refused (401) or the role is missing (403), then access-refused says which, with the client address', async () => {
    const audit = new MemoryAuditLog();
    const a = app(audit);
    await request(a).get('/fhir/Patient/p1').set('x-test-as', 'bad').expect(401);
    await request(a).post('/jobs/j1/retry').set('x-test-as', 'viewer').expect(403);
    await settle();
    expect(audit.records.map((r) => [r.action, r.refusal, r.outcome, r.agent.kind])).toEqual([
      ['access-refused', 'authentication', 'minor-failure', 'anonymous'],
      ['access-refused', 'authorization', 'minor-failure', 'oidc'],
    ]);
    expect(audit.records[0]?.agent.clientAddress).toMatch(/127\.0\.0\.1|::1/);
    for (const e of audit.events) expect(describeIssues(fhirErrors(e))).toBe('');
  });

  it('when the service writes to its own /fhir or AuditEvents are posted, or /healthz is read, then nothing is recorded', async () => {
    const audit = new MemoryAuditLog();
    const a = app(audit);
    await request(a).put('/fhir/DiagnosticReport/r1').set('x-test-as', 'service').send({}).expect(200);
    await request(a).put('/fhir/AuditEvent/e1').set('x-test-as', 'viewer').send({}).expect(200);
    await request(a).get('/healthz').expect(200);
    await settle();
    expect(audit.records).toEqual([]);
  });

  it('when the audit sink fails, then the answer is unchanged and the failure is logged', async () => {
    const errors: unknown[] = [];
    const failing = { record: () => Promise.reject(new Error('disk gone')) };
    const a = express();
    a.use(auditAccess(failing, { logger: { error: (o: unknown) => errors.push(o) } as never }));
    a.get('/jobs', (_q, r) => void r.json({ jobs: [] }));
    await request(a).get('/jobs').expect(200);
    await settle();
    expect(errors).toHaveLength(1);
  });
});
