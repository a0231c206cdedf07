import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { buildAuditEvent, type AuditEventOptions } from '../../src/audit/balp-audit-event';
import type { AuditLog, AuditRecord } from '../../src/ports/audit-log';

export interface JsonlAuditLogOptions {
  /** Folder of the daily files audit-YYYY-MM-DD.jsonl (created 0700). */
  dir: string;
  event?: AuditEventOptions;
}

interface Pending {
  file: string;
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** UTC day of the event (of now when the record's time does not parse): the file it belongs to. */
function dayOf(recorded: string): string {
  const t = Date.parse(recorded);
  return (Number.isFinite(t) ? new Date(t) : new Date()).toISOString().slice(0, 10);
}

/**
 * The audit trail as append-only JSON lines, one FHIR AuditEvent per line, one file per UTC day, mode 0600.
 * record() resolves only once its line is fsync'd. Lines waiting while a write is in progress are written and
 * fsync'd together (group commit), so a burst of API reads costs one fsync, not one each.
 */
export class JsonlAuditLog implements AuditLog {
  private readonly pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  /** Files this process has made private and whose directory entry it has synced. */
  private readonly prepared = new Set<string>();

  constructor(private readonly options: JsonlAuditLogOptions) {}

  record(record: AuditRecord): Promise<void> {
    const withId = { ...record, id: record.id ?? randomUUID() };
    const line = `${JSON.stringify(buildAuditEvent(withId, this.options.event))}\n`;
    const file = path.join(this.options.dir, `audit-${dayOf(record.recorded)}.jsonl`);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ file, line, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when every line recorded so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      const byFile = new Map<string, Pending[]>();
      for (const p of batch) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
      for (const [file, lines] of byFile) {
        try {
          await this.append(file, lines.map((l) => l.line).join(''));
          for (const l of lines) l.resolve();
        } catch (err) {
          for (const l of lines) l.reject(err);
        }
      }
    }
  }

  private async append(file: string, text: string): Promise<void> {
    const fresh = !this.prepared.has(file);
    if (fresh) await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const handle = await open(file, 'a', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (fresh) {
      // A file made by someone else, or before a umask change, is made private too; its name is made durable once.
      await chmod(file, 0o600);
      const dir = await open(this.options.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.prepared.add(file);
    }
  }
}
