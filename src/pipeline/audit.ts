import { SERVICE_PRINCIPAL } from '../audit/balp-audit-event';
import { toAppError } from '../domain/errors';
import type { AuditOutcome, AuditRecord } from '../ports/audit-log';
import type { JobContext } from './context';

export type PipelineAuditRecord = Omit<AuditRecord, 'agent' | 'recorded' | 'outcome'> & { outcome?: AuditOutcome };

/**
 * Records what the pipeline did to patient data, as the service itself. An audit failure never fails the job: the
 * trail's durable outbox absorbs FHIR outages, and anything else is logged (code only, no patient data).
 */
export async function auditJob(ctx: JobContext, record: PipelineAuditRecord): Promise<void> {
  const log = ctx.deps.audit;
  if (!log) return;
  try {
    await log.record({ agent: SERVICE_PRINCIPAL, recorded: (ctx.deps.now ?? (() => new Date()))().toISOString(), outcome: 'success', ...record });
  } catch (err) {
    ctx.log.error({ code: toAppError(err).code, action: record.action }, 'audit record failed; the job goes on');
  }
}

/** The outcome fields of a failed step (the error code, never its message: messages may quote upstream text). */
export function failed(err: unknown): Pick<AuditRecord, 'outcome' | 'outcomeDescription'> {
  const e = toAppError(err);
  return { outcome: e.retryable ? 'minor-failure' : 'serious-failure', outcomeDescription: e.code };
}
