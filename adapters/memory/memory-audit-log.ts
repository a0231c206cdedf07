import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import { buildAuditEvent, type AuditEventOptions } from '../../src/audit/balp-audit-event';
import type { AuditLog, AuditRecord } from '../../src/ports/audit-log';

/** In-memory twin of the audit trail (tests, library use): the records and their AuditEvents, in order. */
export class MemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  readonly events: AuditEvent[] = [];

  constructor(private readonly options: AuditEventOptions = {}) {}

  async record(record: AuditRecord): Promise<void> {
    const withId = { ...record, id: record.id ?? randomUUID() };
    const event = buildAuditEvent(withId, this.options);
    this.records.push(withId);
    this.events.push(event);
  }
}
