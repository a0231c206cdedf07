import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditEvent } from '@medplum/fhirtypes';
import { SERVICE_PRINCIPAL } from '../../src/audit/balp-audit-event';
import { auditLogContract } from '../../test/support/audit-log-contract';
import { JsonlAuditLog } from './jsonl-audit-log';

const readDir = (dir: string): AuditEvent[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as AuditEvent);

auditLogContract('JsonlAuditLog', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'audit-jsonl-')), 'audit');
  const log = new JsonlAuditLog({ dir });
  return { log, events: async () => (await log.flush(), readDir(dir)), close: () => log.flush() };
});

describe('JsonlAuditLog files', () => {
  it('when events of two days are recorded, then each day has its own private file, one AuditEvent per line', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'audit-jsonl-')), 'audit');
    const log = new JsonlAuditLog({ dir });
    const rec = (recorded: string): Parameters<JsonlAuditLog['record']>[0] => ({
      action: 'study-retrieved',
      recorded,
      outcome: 'success',
      agent: SERVICE_PRINCIPAL,
      entities: [{ kind: 'study', id: '1.2.3' }],
    });
    await log.record(rec('2026-12-02T23:59:59.000Z'));
    await Promise.all([log.record(rec('2026-12-03T00:00:01.000Z')), log.record(rec('2026-12-03T08:00:00.000Z'))]);
    expect(readdirSync(dir).sort()).toEqual(['audit-2026-12-02.jsonl', 'audit-2026-12-03.jsonl']);
    expect(readFileSync(path.join(dir, 'audit-2026-12-03.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(2);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
  });

  it('when a later instance writes to the same day, then it appends: earlier lines stay', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'audit-jsonl-')), 'audit');
    const rec = { action: 'dicom-stored' as const, recorded: '2026-12-03T10:00:00.000Z', outcome: 'success' as const, agent: SERVICE_PRINCIPAL, entities: [{ kind: 'dicom-instance' as const, id: '2.25.1' }] };
    await new JsonlAuditLog({ dir }).record({ ...rec, id: 'a' });
    await new JsonlAuditLog({ dir }).record({ ...rec, id: 'b' });
    expect(readDir(dir).map((e) => e.id)).toEqual(['a', 'b']);
  });
});
