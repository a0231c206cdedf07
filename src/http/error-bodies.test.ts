/**
 * What error answers may carry: never a stack trace, a file path, a secret or a library's message quoting the
 * request; server-side failures give a fixed text and a correlation id that names their one log line.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { createEmbeddedFhirApp } from '../../adapters/fhir-embedded/embedded-fhir-app';
import { AppError } from '../domain/errors';
import { createLogger } from '../logging';
import { createApp } from './app';
import { errorHandler, notFound } from './error-handler';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }) });
  return { lines, logger };
}

/** An app whose routes fail in the ways under test, behind the service's error handler. */
function failingApp(logger: ReturnType<typeof createLogger>): express.Express {
  const app = express();
  app.get('/boom', () => {
    throw new Error("ENOENT: no such file or directory, open '/var/lib/clinical-ai/secrets/pacs.key' (token=s3cr3t-token)");
  });
  app.get('/pacs', () => {
    throw new AppError('PACS_UNAVAILABLE', 'GET http://svc:pacs-Pa55@10.1.2.3:8042/dicom-web/studies/1.2.840.99.1.2 failed: ECONNREFUSED');
  });
  app.get('/client', () => {
    throw new AppError('BAD_REQUEST', `bad parameter near http://user:hunter2@example.org/ ${'x'.repeat(1000)}`);
  });
  app.get('/jobs/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/late', (_req, res) => {
    res.status(200).write('{"partial":');
    throw new Error('failed after the headers');
  });
  app.post('/json', express.json({ limit: '1kb' }), (_req, res) => {
    res.json({ ok: true });
  });
  app.use('/fhir', (_req, _res, next) => next(new Error('database file /var/lib/clinical-ai/fhir/store.ndjson is corrupt')));
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

describe('error answers', () => {
  it('when a route throws an unexpected error, then 500 with a fixed message and a correlation id that is also in the one log line', async () => {
    const { lines, logger } = capture();
    const res = await request(failingApp(logger)).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error', retryable: false, correlationId: expect.stringMatching(UUID) } });
    expect(res.headers['x-correlation-id']).toBe(res.body.error.correlationId);
    for (const leak of ['/var/lib', 's3cr3t', 'ENOENT', '    at ', 'error-bodies.test']) expect(res.text).not.toContain(leak);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 50, correlationId: res.body.error.correlationId, code: 'INTERNAL', method: 'GET', path: '/boom', msg: 'unhandled error in request' });
  });

  it('when a dependency fails (5xx AppError), then the client gets its code and a fixed text; the log keeps the message without URL credentials', async () => {
    const { lines, logger } = capture();
    const res = await request(failingApp(logger)).get('/pacs');
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({ code: 'PACS_UNAVAILABLE', message: 'the PACS cannot be reached; try again later', retryable: true, correlationId: expect.stringMatching(UUID) });
    for (const leak of ['10.1.2.3', 'pacs-Pa55', '1.2.840.99', 'ECONNREFUSED']) expect(res.text).not.toContain(leak);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, correlationId: res.body.error.correlationId, code: 'PACS_UNAVAILABLE', msg: 'request failed' });
    expect(line.err).toContain('http://10.1.2.3:8042');
    expect(lines.join('')).not.toContain('pacs-Pa55');
  });

  it('when a client error message holds a URL with credentials or is very long, then the answer strips the credentials and is cut short', async () => {
    const { lines, logger } = capture();
    const res = await request(failingApp(logger)).get('/client');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^bad parameter near http:\/\/example\.org\//);
    expect(res.body.error.message.length).toBeLessThanOrEqual(300);
    expect(res.body.error.correlationId).toBeUndefined();
    expect(res.text).not.toContain('hunter2');
    expect(lines).toHaveLength(0);
  });

  it.each([
    ['a Content-Encoding it cannot decode', { 'content-type': 'application/json', 'content-encoding': 'x-evil"<script>' }, '{}', 415, 'this Content-Encoding is not supported: send the body uncompressed', 'x-evil'],
    ['a charset it does not know', { 'content-type': 'application/json; charset=x-secret-charset' }, '{}', 415, 'this request charset is not supported: use utf-8', 'x-secret-charset'],
    ['JSON that does not parse', { 'content-type': 'application/json' }, '{"password": "hunter2", oops}', 400, 'request body is not valid JSON', 'hunter2'],
    ['a body over the limit', { 'content-type': 'application/json' }, JSON.stringify({ big: 'y'.repeat(4096) }), 413, 'request body too large', 'yyyy'],
  ])('when the JSON body parser refuses %s, then a fixed message that quotes nothing of the request', async (_what, headers, body, status, message, quoted) => {
    const { logger } = capture();
    const res = await request(failingApp(logger)).post('/json').set(headers).send(body);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toBe(message);
    expect(res.text).not.toContain(quoted);
  });

  it('when a path parameter does not URL-decode, then 400 with the status text only, not the parameter', async () => {
    const { logger } = capture();
    const res = await request(failingApp(logger)).get('/jobs/%E0%A4%Asecret');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'BAD_REQUEST', message: 'bad request', retryable: false });
    expect(res.text).not.toContain('secret');
  });

  it('when a request under /fhir fails unexpectedly, then the answer is an OperationOutcome with the fixed text and the correlation id', async () => {
    const { lines, logger } = capture();
    const res = await request(failingApp(logger)).get('/fhir/Patient');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const id = res.headers['x-correlation-id'] as string;
    expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', details: { text: 'internal error' }, diagnostics: `correlation id ${id}` }] });
    expect(res.text).not.toContain('store.ndjson');
    expect(lines.join('')).toContain(id);
  });

  it('when a route fails after the answer started, then the connection is cut instead of left hanging', async () => {
    const { logger } = capture();
    const server = failingApp(logger).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/late', agent: false, timeout: 5000 }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve('ended normally'));
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
        });
        req.on('timeout', () => resolve('hung'));
        req.on('error', () => resolve('cut'));
        req.end();
      });
      expect(outcome).toBe('cut');
    } finally {
      server.close();
    }
  });

  it('when the embedded FHIR store cannot write its data file, then the client gets 500 without the file path; an engine refusal stays a 400 OperationOutcome', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fhir-fail-'));
    const dataFile = path.join(dir, 'store.ndjson');
    const fhir = await createEmbeddedFhirApp({ dataFile });
    const { lines, logger } = capture();
    const app = createApp({ jobs: new MemoryJobStore(), fhir: null, readiness: [], logger, embeddedFhir: fhir.router, auth: { authenticators: [], anonymousRoles: ['admin'], failedAttemptsPerMinute: 100 } });
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'p1' }] };
    expect((await request(app).post('/fhir/Patient').set('content-type', 'application/fhir+json').send(patient)).status).toBe(201);
    // The data file becomes a directory: the next append fails with EISDIR naming it.
    rmSync(dataFile);
    mkdirSync(dataFile);
    const res = await request(app).post('/fhir/Patient').set('content-type', 'application/fhir+json').send(patient);
    expect(res.status).toBe(500);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.text).not.toContain(dir);
    expect(res.text).not.toContain('EISDIR');
    expect(lines.join('')).toContain(res.headers['x-correlation-id'] as string);
    rmSync(dataFile, { recursive: true });
    const invalid = await request(app).post('/fhir/Patient').set('content-type', 'application/fhir+json').send({ resourceType: 'Observation' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.resourceType).toBe('OperationOutcome');
  });
});
