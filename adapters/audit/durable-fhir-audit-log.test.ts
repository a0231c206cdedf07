/**
 * The FHIR copy of the audit trail against the real FHIR engine (the embedded store on loopback, standing in for the
 * hospital's server): the AuditLog contract, an outage across a restart, and the bound.
 */
import type { Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../fhir-embedded/embedded-fhir-app';
import { FhirClientSink } from '../fhir/fhir-client-sink';
import { silentLogger } from '../../src/logging';
import type { Principal } from '../../src/domain/principal';
import type { AuditRecord } from '../../src/ports/audit-log';
import { auditLogContract } from '../../test/support/audit-log-contract';
import { startFhirServer, type TestFhirServer } from '../../test/support/fhir-server';
import { AuditTrail } from './audit-trail';
import { DurableFhirAuditLog } from './durable-fhir-audit-log';
import { JsonlAuditLog } from './jsonl-audit-log';

const auditEvents = async (baseUrl: string): Promise<AuditEvent[]> => {
  const r = await fetch(`${baseUrl}/AuditEvent?_count=1000`);
  if (!r.ok) throw new Error(`AuditEvent search: ${r.status}`);
  return ((await r.json()) as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
};

const fast = { maxQueued: 10_000, retryInitialMs: 20, retryMaxMs: 200, logger: silentLogger };

describe('DurableFhirAuditLog', () => {
  let fhir: TestFhirServer;
  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(async () => {
    await fhir?.stop();
  });
  beforeEach(async () => {
    // Each contract case starts from an empty store.
    for (const e of await auditEvents(fhir.baseUrl)) await fetch(`${fhir.baseUrl}/AuditEvent/${e.id}`, { method: 'DELETE' });
  });

  auditLogContract('DurableFhirAuditLog → real FHIR engine', async () => {
    const log = new DurableFhirAuditLog({ ...fast, file: path.join(mkdtempSync(path.join(tmpdir(), 'audit-outbox-')), 'outbox.db'), target: new FhirClientSink({ baseUrl: fhir.baseUrl }) });
    log.start();
    return { log, events: async () => (await log.drained(), auditEvents(fhir.baseUrl)), close: () => log.stop() };
  });

  auditLogContract('AuditTrail (JSON lines + FHIR outbox) → real FHIR engine', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'audit-trail-'));
    const durable = new DurableFhirAuditLog({ ...fast, file: path.join(dir, 'outbox.db'), target: new FhirClientSink({ baseUrl: fhir.baseUrl }) });
    durable.start();
    const log = new AuditTrail([new JsonlAuditLog({ dir }), durable]);
    return { log, events: async () => (await durable.drained(), auditEvents(fhir.baseUrl)), close: () => durable.stop() };
  });
});

/** The embedded FHIR engine on a port that stays the same across stop and start (an outage of "the server"). */
async function fhirOnPort(port: number, dataFile: string): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const store: EmbeddedFhir = await createEmbeddedFhirApp({ dataFile });
  const app = express();
  app.use('/fhir', store.router);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    stop: async () => {
      await store.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const viewer: Principal = { kind: 'api-key', subject: 'key-1', roles: ['viewer'], clientAddress: '10.0.0.5' };
const STUDY = '1.2.826.0.1.3680043.8.498.77';
const rec = (n: number): AuditRecord => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  action: 'api-read',
  recorded: new Date().toISOString(),
  outcome: 'success',
  agent: viewer,
  entities: [{ kind: 'study', id: STUDY }],
});

describe('DurableFhirAuditLog when the FHIR server is down', () => {
  it('when the server is down across a restart, then every event is delivered once it is back: none lost, none duplicated', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'audit-outage-'));
    const dataFile = path.join(dir, 'fhir.ndjson');
    // Learn a free port, then take the server away: the outage.
    const first = await fhirOnPort(0, dataFile);
    const baseUrl = first.baseUrl;
    const port = Number(new URL(baseUrl).port);
    await first.stop();

    const outbox = path.join(dir, 'outbox.db');
    const before = new DurableFhirAuditLog({ ...fast, file: outbox, target: new FhirClientSink({ baseUrl, timeoutMs: 2000 }) });
    before.start();
    for (let n = 1; n <= 20; n++) await before.record(rec(n));
    await new Promise((r) => setTimeout(r, 300)); // several failed deliveries with backoff
    expect(before.pending()).toBe(20);
    await before.stop(); // "restart": a new instance over the same outbox

    const after = new DurableFhirAuditLog({ ...fast, file: outbox, target: new FhirClientSink({ baseUrl, timeoutMs: 2000 }) });
    expect(after.pending()).toBe(20);
    after.start();
    for (let n = 21; n <= 25; n++) await after.record(rec(n));
    await after.record(rec(3)); // the same event recorded again is queued once
    expect(after.pending()).toBe(25);

    const server = await fhirOnPort(port, dataFile);
    try {
      await after.drained(20_000);
      const ids = (await auditEvents(server.baseUrl)).map((e) => e.id);
      expect(ids.length).toBe(25);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: 25 }, (_, i) => rec(i + 1).id)));

      // A redelivery (the answer to a PUT lost, so the event is sent again) overwrites: still 25.
      await after.record(rec(7));
      await after.drained(10_000);
      expect((await auditEvents(server.baseUrl)).length).toBe(25);
    } finally {
      await after.stop();
      await server.stop();
    }
  });

  it('when the outbox is full, then further events are not queued and one error line without patient data says so', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }));
    const log = new DurableFhirAuditLog({ ...fast, maxQueued: 3, logger, file: ':memory:', target: new FhirClientSink({ baseUrl: 'http://127.0.0.1:9/fhir', timeoutMs: 500 }) });
    const dir = mkdtempSync(path.join(tmpdir(), 'audit-full-'));
    const trail = new AuditTrail([new JsonlAuditLog({ dir }), log]);
    for (let n = 1; n <= 6; n++) await trail.record(rec(n));
    expect(log.pending()).toBe(3);
    // The file keeps every event, queued or not.
    const fileLines = readdirSync(dir).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n'));
    expect(fileLines).toHaveLength(6);
    const full = lines.filter((l) => l.includes('audit outbox full'));
    expect(full).toHaveLength(1);
    expect(lines.join('')).not.toContain(STUDY);
    await log.stop();
  });
});
