import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { logHash } from '../../src/domain/identity';
import type { Logger } from '../../src/logging';
import { fsyncPath } from '../storage/disk-write';

/** A study some of whose instances failed to arrive; kept as `.incomplete.json` beside its files. */
export interface IncompleteMark {
  /** Why, without patient data; it becomes the study event's `incomplete`. */
  reason: string;
  /** Instances known not to be stored (0 when unknown, e.g. a transfer cut short). */
  failed: number;
  /** When it was set (ISO time). */
  at: string;
}

export const MARK_FILE = '.incomplete.json';

/** What a mark file still saying "in progress" means after a restart: the service stopped during the transfer. */
export const INTERRUPTED_REASON = 'a transfer into this study was interrupted (the service stopped during it); re-send the study';

interface Entry {
  mark?: IncompleteMark;
  /** Transfers storing into the study right now. */
  active: number;
  /** What the file on disk says. */
  file?: 'in-progress' | 'mark';
  /** The file does not say what memory says (the disk refused the write); written again by save(). */
  unsaved?: boolean;
}

type MarkFile = ({ inProgress: true } | IncompleteMark) & { studyInstanceUid: string; at: string };

/**
 * The incomplete marks of the received dir. The file is written ahead: the first instance a transfer stores into a
 * study writes an "in progress" mark before the instance is moved into place, so it exists while there is still
 * room and survives a crash (read back as "interrupted"). When the transfer ends the file is removed (clean) or
 * rewritten with the reason; if the full disk refuses that rewrite, the in-progress file stays (still a mark) and
 * the reason lives in memory until flush() manages to write it. A clean transfer clears only marks set before it
 * began, so a concurrent transfer that failed is not undone by one that did not. Callers hold the study's lock.
 */
export class IncompleteMarks {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly root: string,
    private readonly studyDir: (studyInstanceUid: string) => string,
    private readonly logger: Logger,
  ) {}

  /** Reads the marks under the received dir (at start; no transfer is active then). */
  async load(): Promise<void> {
    this.entries.clear();
    for (const dir of await readdir(this.root, { withFileTypes: true })) {
      if (!dir.isDirectory() || dir.name.startsWith('.')) continue;
      let raw: { studyInstanceUid?: unknown; inProgress?: unknown; reason?: unknown; failed?: unknown; at?: unknown };
      try {
        raw = JSON.parse(await readFile(path.join(this.root, dir.name, MARK_FILE), 'utf8')) as typeof raw;
      } catch {
        continue; // no mark (a torn one cannot be: it is renamed into place)
      }
      if (typeof raw.studyInstanceUid !== 'string') continue;
      const at = typeof raw.at === 'string' ? raw.at : new Date().toISOString();
      const mark: IncompleteMark = raw.inProgress || typeof raw.reason !== 'string' ? { reason: INTERRUPTED_REASON, failed: 0, at } : { reason: raw.reason, failed: Number(raw.failed) || 0, at };
      this.entries.set(raw.studyInstanceUid, { mark, active: 0, file: raw.inProgress ? 'in-progress' : 'mark' });
    }
    const marked = [...this.entries.values()].filter((e) => e.mark).length;
    if (marked > 0) this.logger.warn({ studies: marked }, 'received studies marked incomplete: held until re-sent');
  }

  get(studyInstanceUid: string): IncompleteMark | undefined {
    return this.entries.get(studyInstanceUid)?.mark;
  }

  /** A transfer is about to store its first instance into the study: write the in-progress mark ahead of it. */
  async begin(studyInstanceUid: string): Promise<void> {
    const entry = this.entries.get(studyInstanceUid) ?? { active: 0 };
    // With a file already there (a reason or in progress) the study is marked on disk: nothing to write ahead.
    if (!entry.file) {
      await this.write(studyInstanceUid, { inProgress: true, studyInstanceUid, at: new Date().toISOString() });
      entry.file = 'in-progress';
    }
    entry.active++;
    this.entries.set(studyInstanceUid, entry);
  }

  /**
   * The transfer ended. With a reason the study is marked; without, a mark set before `startedAt` is cleared.
   * `entered` is false for a study the transfer named but stored nothing into (STOW-RS /studies/{uid}).
   */
  async end(studyInstanceUid: string, outcome: { startedAt: number; entered: boolean; mark?: Omit<IncompleteMark, 'at'> }): Promise<void> {
    const entry = this.entries.get(studyInstanceUid) ?? { active: 0 };
    if (outcome.entered) entry.active = Math.max(0, entry.active - 1);
    if (outcome.mark) {
      entry.mark = { ...outcome.mark, at: new Date().toISOString() };
      this.logger.warn({ study: logHash(studyInstanceUid), failed: outcome.mark.failed, reason: outcome.mark.reason }, 'received study marked incomplete: held until re-sent');
    } else if (entry.mark && Date.parse(entry.mark.at) < outcome.startedAt) {
      delete entry.mark;
      this.logger.info({ study: logHash(studyInstanceUid) }, 'received study re-sent without failures: incomplete mark removed');
    }
    this.entries.set(studyInstanceUid, entry);
    await this.save(studyInstanceUid);
  }

  /** The study's files were removed: so is its mark (the file went with the folder). */
  forget(studyInstanceUid: string): void {
    this.entries.delete(studyInstanceUid);
  }

  /** Studies whose mark the disk refused to write, to try again (under their locks) when there may be room. */
  unsaved(): string[] {
    return [...this.entries].filter(([, e]) => e.unsaved).map(([uid]) => uid);
  }

  /** Makes the file say what memory says (a reason, in progress, or no file). Never throws: memory stays right. */
  async save(studyInstanceUid: string): Promise<void> {
    const entry = this.entries.get(studyInstanceUid);
    if (!entry) return;
    try {
      if (entry.mark) {
        await this.write(studyInstanceUid, { ...entry.mark, studyInstanceUid });
        entry.file = 'mark';
      } else if (entry.active > 0) {
        if (entry.file !== 'in-progress') await this.write(studyInstanceUid, { inProgress: true, studyInstanceUid, at: new Date().toISOString() });
        entry.file = 'in-progress';
      } else if (entry.file) {
        await this.remove(studyInstanceUid);
        delete entry.file;
      }
      delete entry.unsaved;
    } catch (err) {
      if (!entry.unsaved) this.logger.warn({ study: logHash(studyInstanceUid), code: (err as NodeJS.ErrnoException).code }, 'incomplete mark not written (kept in memory; the file on disk still marks the study)');
      entry.unsaved = true;
    }
    if (!entry.mark && entry.active === 0 && !entry.unsaved) this.entries.delete(studyInstanceUid);
  }

  private async write(studyInstanceUid: string, content: MarkFile): Promise<void> {
    const dir = this.studyDir(studyInstanceUid);
    const file = path.join(dir, MARK_FILE);
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(content));
      await fsyncPath(tmp, 'r+');
      await rename(tmp, file);
      await fsyncPath(dir, 'r');
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  private async remove(studyInstanceUid: string): Promise<void> {
    const dir = this.studyDir(studyInstanceUid);
    await rm(path.join(dir, MARK_FILE), { force: true });
    // A removal lost in a power cut would hold a complete study: flush the folder entry too.
    await fsyncPath(dir, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
