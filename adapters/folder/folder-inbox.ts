import { logHash } from '../../src/domain/identity';
import { toAppError } from '../../src/domain/errors';
import type { Logger } from '../../src/logging';
import type { StudyEventSource } from '../../src/ports/study-events';
import type { StudyEvent } from '../../src/domain/study';
import type { FolderIndex } from './folder-index';

export interface FolderInboxOptions {
  /** A study is emitted once none of its files changed for this long. */
  quietMs: number;
  pollIntervalMs: number;
  logger: Logger;
}

/**
 * Folder intake: files dropped in the inbox (any names, any nesting) are grouped by study; a study becomes an
 * event after a quiet period, and again if more files arrive later (the router's idempotency keys make a repeat
 * with the same instances a no-op). Files stay where they are: they are the source the jobs read from.
 */
export class FolderInbox implements StudyEventSource {
  readonly name = 'folder';
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Study UID → change time already emitted. */
  private readonly emitted = new Map<string, number>();
  private readonly reportedProblems = new Set<string>();

  constructor(
    private readonly index: FolderIndex,
    private readonly options: FolderInboxOptions,
  ) {}

  async start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    const tick = async (): Promise<void> => {
      try {
        await this.pollOnce(onEvent);
      } catch (err) {
        this.options.logger.error({ err: toAppError(err).message }, 'folder inbox scan failed');
      }
    };
    const schedule = (): void => {
      this.timer = setTimeout(() => {
        this.polling = tick().finally(() => {
          if (this.timer) schedule();
        });
      }, this.options.pollIntervalMs);
    };
    this.polling = tick();
    await this.polling;
    schedule();
  }

  /** One scan: index new files, emit studies that have been quiet long enough. */
  async pollOnce(onEvent: (event: StudyEvent) => Promise<void>, now = Date.now()): Promise<void> {
    await this.index.scan();
    for (const p of this.index.fileProblems()) {
      if (this.reportedProblems.has(p.file)) continue;
      this.reportedProblems.add(p.file);
      // The file path may carry patient names in folder names: log only its hash.
      this.options.logger.warn({ file: logHash(p.file), code: p.code, reason: p.message }, 'inbox file skipped');
    }
    for (const uid of this.index.studyUids()) {
      const changed = this.index.lastChangeMs(uid);
      if (now - changed < this.options.quietMs) continue;
      if (this.emitted.get(uid) === changed) continue;
      try {
        await onEvent({ studyInstanceUid: uid, source: this.name, receivedAt: new Date(now).toISOString() });
        this.emitted.set(uid, changed);
      } catch (err) {
        // Not marked emitted: the next scan tries again.
        this.options.logger.error({ study: logHash(uid), err: toAppError(err).message }, 'inbox study could not be routed');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }
}
