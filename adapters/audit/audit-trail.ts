import { randomUUID } from 'node:crypto';
import type { AuditLog, AuditRecord } from '../../src/ports/audit-log';

/**
 * Fans one record out to every sink (the JSON-lines file, the FHIR outbox) under one id, so each copy is the same
 * AuditEvent. Resolves once every sink has it; a sink that fails does not keep the record from the others, and the
 * first failure is then reported to the caller (whose hook logs it without failing its job).
 */
export class AuditTrail implements AuditLog {
  constructor(private readonly sinks: readonly AuditLog[]) {}

  async record(record: AuditRecord): Promise<void> {
    const withId = { ...record, id: record.id ?? randomUUID() };
    const results = await Promise.allSettled(this.sinks.map((s) => s.record(withId)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
