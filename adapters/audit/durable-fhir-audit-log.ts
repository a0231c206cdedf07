import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent } from '@medplum/fhirtypes';
import { buildAuditEvent, type AuditEventOptions } from '../../src/audit/balp-audit-event';
import { toAppError } from '../../src/domain/errors';
import type { Logger } from '../../src/logging';
import { backoffDelayMs } from '../../src/pipeline/backoff';
import type { AuditLog, AuditRecord } from '../../src/ports/audit-log';

/** Where AuditEvents are delivered: FhirClientSink.putResource (PUT AuditEvent/<id>, idempotent). */
export interface AuditEventTarget {
  putResource(resource: AuditEvent & { id: string }): Promise<void>;
}

export interface DurableFhirAuditLogOptions {
  /** SQLite file of the outbox (e.g. dataDir/audit/outbox.db); ':memory:' for tests that need no restart. */
  file: string;
  /** The FHIR server, or a function giving it once it exists (the embedded store's client is made after listen). */
  target: AuditEventTarget | (() => AuditEventTarget | undefined);
  /** Most events waiting; beyond it events are not queued (the JSON-lines file still has them) and one error is logged. */
  maxQueued: number;
  retryInitialMs: number;
  retryMaxMs: number;
  logger: Logger;
  event?: AuditEventOptions;
  /** Events sent per look at the outbox. */
  batchSize?: number;
}

interface Row {
  seq: number;
  id: string;
  event: string;
  attempts: number;
}

/**
 * AuditEvents for the FHIR server through a durable outbox: record() returns once the event is committed to the
 * outbox, and a background sender PUTs them in order, with capped exponential backoff while the server is down.
 *
 * The outbox is SQLite rather than a spool folder: insert, delete and "how many are waiting" are atomic and cheap,
 * the event id is the primary key (recording one twice queues it once), and one commit costs one fsync. It is its
 * own file rather than a table in jobs.db because the job store runs synchronous=NORMAL, which may lose the last
 * commits on power loss; here synchronous=FULL makes every commit durable before record() returns.
 * Delivery is at least once; PUT with the event's own id makes a redelivery overwrite, never duplicate.
 */
export class DurableFhirAuditLog implements AuditLog {
  private readonly db: Database.Database;
  private queued: number;
  private overflowing = false;
  private outage = false;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends an idle wait early (a new event); not a backoff wait, so an outage is not hammered per event. */
  private wake: (() => void) | undefined;
  /** Ends any wait (stop). */
  private interrupt: (() => void) | undefined;
  private readonly idle = new Set<() => void>();
  private readonly inserts: Array<{ id: string; event: string; resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly options: DurableFhirAuditLogOptions) {
    if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS audit_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      event TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      not_before INTEGER NOT NULL DEFAULT 0
    )`);
    this.queued = (this.db.prepare('SELECT COUNT(*) AS n FROM audit_outbox').get() as { n: number }).n;
  }

  async record(record: AuditRecord): Promise<void> {
    const id = record.id ?? randomUUID();
    if (this.queued + this.inserts.length >= this.options.maxQueued) {
      if (!this.overflowing) {
        this.overflowing = true;
        this.options.logger.error({ maxQueued: this.options.maxQueued }, 'audit outbox full (audit.maxQueued): new AuditEvents go to the JSON-lines file only until the FHIR server takes the queue');
      }
      return;
    }
    const event = JSON.stringify(buildAuditEvent({ ...record, id }, this.options.event));
    await new Promise<void>((resolve, reject) => {
      this.inserts.push({ id, event, resolve, reject });
      if (this.inserts.length === 1) setImmediate(() => this.commitInserts());
    });
  }

  /**
   * Group commit: the records of one event-loop turn go in one transaction, one fsync (synchronous=FULL blocks the
   * loop for it, so a burst of API reads must not pay one each).
   */
  private commitInserts(): void {
    const batch = this.inserts.splice(0);
    if (batch.length === 0) return;
    try {
      const insert = this.db.prepare('INSERT OR IGNORE INTO audit_outbox (id, event) VALUES (?, ?)');
      const inserted = this.db.transaction(() => batch.reduce((n, b) => n + insert.run(b.id, b.event).changes, 0))();
      this.queued += inserted;
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
    this.wake?.();
  }

  /** Look at the outbox now (the target has just become available). */
  notify(): void {
    this.wake?.();
  }

  /** How many events wait for delivery. */
  pending(): number {
    return this.queued;
  }

  /** Starts the background sender. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.send();
  }

  /** Stops the sender (what is queued stays queued for the next start) and closes the outbox. */
  async stop(): Promise<void> {
    this.running = false;
    this.interrupt?.();
    await this.loop;
    this.loop = undefined;
    this.commitInserts();
    if (this.db.open) this.db.close();
  }

  /** Resolves once the outbox is empty (tests; shutdown with a deadline). */
  async drained(timeoutMs = 30_000): Promise<void> {
    if (this.queued === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idle.delete(done);
        reject(new Error(`audit outbox not drained within ${timeoutMs} ms (${this.queued} waiting)`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.idle.add(done);
    });
  }

  private target(): AuditEventTarget | undefined {
    const t = this.options.target;
    return typeof t === 'function' ? t() : t;
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interrupt = done;
      this.wake = wakeable ? done : undefined;
    });
  }

  private async send(): Promise<void> {
    const { logger, retryInitialMs, retryMaxMs } = this.options;
    let failures = 0;
    while (this.running) {
      const target = this.target();
      const rows = target
        ? (this.db.prepare('SELECT seq, id, event, attempts FROM audit_outbox WHERE not_before <= ? ORDER BY seq LIMIT ?').all(Date.now(), this.options.batchSize ?? 100) as Row[])
        : [];
      if (!target || rows.length === 0) {
        if (this.queued === 0) {
          for (const done of [...this.idle]) {
            this.idle.delete(done);
            done();
          }
        }
        // Nothing to send now: wait for a record(), or look again for events whose retry time has come.
        await this.sleep(this.queued > 0 ? retryInitialMs : retryMaxMs, true);
        continue;
      }
      let down = false;
      for (const row of rows) {
        if (!this.running) break;
        try {
          await target.putResource(JSON.parse(row.event) as AuditEvent & { id: string });
          this.db.prepare('DELETE FROM audit_outbox WHERE seq = ?').run(row.seq);
          this.queued--;
          if (this.queued < this.options.maxQueued) this.overflowing = false;
          if (this.outage) {
            this.outage = false;
            logger.info({ waiting: this.queued }, 'audit FHIR server answers again: delivering queued AuditEvents');
          }
          failures = 0;
        } catch (err) {
          const e = toAppError(err);
          const attempts = row.attempts + 1;
          if (e.retryable) {
            // The server is down or busy: the whole queue waits, in order.
            this.db.prepare('UPDATE audit_outbox SET attempts = ? WHERE seq = ?').run(attempts, row.seq);
            if (!this.outage) {
              this.outage = true;
              logger.error({ code: e.code, upstreamStatus: e.details?.upstreamStatus, waiting: this.queued }, 'audit FHIR server unavailable: AuditEvents stay queued and are retried');
            }
            down = true;
            break;
          }
          // Refused (4xx): this event waits its own backoff at the back while the others go on; never dropped.
          this.db.prepare('UPDATE audit_outbox SET attempts = ?, not_before = ? WHERE seq = ?').run(attempts, Date.now() + backoffDelayMs(attempts, retryInitialMs, retryMaxMs), row.seq);
          if (attempts === 1) logger.error({ code: e.code, upstreamStatus: e.details?.upstreamStatus }, 'audit FHIR server refused an AuditEvent: kept in the outbox and retried with backoff');
        }
      }
      if (down) await this.sleep(backoffDelayMs(++failures, retryInitialMs, retryMaxMs), false);
    }
  }
}
