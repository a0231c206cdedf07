import { hostname } from 'node:os';
import path from 'node:path';
import type { AuditEventOptions } from '../../src/audit/balp-audit-event';
import type { Config } from '../../src/config';
import type { Logger } from '../../src/logging';
import type { AuditLog } from '../../src/ports/audit-log';
import { AuditTrail } from './audit-trail';
import { DurableFhirAuditLog, type AuditEventTarget } from './durable-fhir-audit-log';
import { JsonlAuditLog } from './jsonl-audit-log';

export { AuditTrail, DurableFhirAuditLog, JsonlAuditLog };
export type { AuditEventTarget };

export interface AuditTrailHandle {
  /** undefined when audit.enabled is false (or no sink is on): nothing is recorded. */
  log: AuditLog | undefined;
  /** The FHIR outbox, when audit.fhir applies. */
  outbox: DurableFhirAuditLog | undefined;
  /**
   * What every AuditEvent says about its surroundings (observer, site, the PACS, FHIR and API base URLs). Shared by
   * reference with the sinks: the composition root fills in the API URL once it listens.
   */
  event: AuditEventOptions;
  start(): void;
  stop(): Promise<void>;
}

/**
 * The audit trail of `serve` from config.audit: the JSON-lines file (audit.file) and the FHIR outbox (audit.fhir,
 * only when results go to a FHIR server), both under audit.dir, fanned out under one event id.
 */
export function createAuditTrail(
  config: Pick<Config, 'audit' | 'fhir'>,
  deps: { logger: Logger; target: () => AuditEventTarget | undefined; event?: AuditEventOptions },
): AuditTrailHandle {
  const event: AuditEventOptions = { observer: 'clinical-ai', site: hostname(), ...deps.event };
  const { audit } = config;
  const sinks: AuditLog[] = [];
  let outbox: DurableFhirAuditLog | undefined;
  if (audit.enabled && audit.file) sinks.push(new JsonlAuditLog({ dir: audit.dir, event }));
  if (audit.enabled && audit.fhir && config.fhir !== 'none') {
    outbox = new DurableFhirAuditLog({
      file: path.join(audit.dir, 'outbox.db'),
      target: deps.target,
      maxQueued: audit.maxQueued,
      retryInitialMs: audit.retryInitialMs,
      retryMaxMs: audit.retryMaxMs,
      logger: deps.logger,
      event,
    });
    sinks.push(outbox);
  }
  if (sinks.length > 0) deps.logger.info({ file: audit.file, fhir: outbox !== undefined, dir: audit.dir, waiting: outbox?.pending() ?? 0 }, 'audit trail on');
  else deps.logger.warn('audit trail off (audit.enabled, audit.file, audit.fhir): access to patient data is not recorded');
  return {
    log: sinks.length > 0 ? new AuditTrail(sinks) : undefined,
    outbox,
    event,
    start: () => outbox?.start(),
    stop: async () => outbox?.stop(),
  };
}
