import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';

type WithId<T> = T & { id: string };

/** One line of the log: a resource version, or a tombstone for a delete. */
type LogLine = Resource | { resourceType: string; id: string; deleted: true };

interface UndoStep {
  resourceType: string;
  id: string;
  /** The version before the write; undefined when the write created it. */
  previous: Resource | undefined;
}

/**
 * Medplum's MemoryRepository with two things it lacks:
 * - durability: every committed write is appended to an NDJSON log (one resource version or tombstone per line);
 *   on start the log is replayed (last line per id wins, a torn last line is ignored) and compacted atomically
 *   (write temp + rename);
 * - atomic transactions: its withTransaction just runs the callback, so a transaction failing halfway keeps its
 *   first writes. Here writes inside a transaction are journalled, undone on failure, and logged only on commit.
 * Writers must be serialised by the caller (the embedded app runs writes one at a time); this class does not lock.
 */
export class PersistentMemoryRepository extends MemoryRepository {
  private readonly dataFile: string | undefined;
  private pending: LogLine[] | undefined;
  private undo: UndoStep[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private replaying = false;
  private writeFailure: Error | undefined;

  constructor(dataFile?: string) {
    super();
    this.dataFile = dataFile;
  }

  /** Replays the log into memory and rewrites it compacted. */
  async load(): Promise<number> {
    if (!this.dataFile) return 0;
    await mkdir(dirname(this.dataFile), { recursive: true });
    const text = await readFile(this.dataFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const latest = new Map<string, LogLine>();
    const lines = text.split('\n').filter((l) => l.trim());
    lines.forEach((line, i) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch (err) {
        // Only the last line can be torn by a crash mid-append; anything else is corruption worth stopping for.
        if (i === lines.length - 1) return;
        throw new Error(`FHIR data file ${this.dataFile} line ${i + 1} is not JSON`, { cause: err });
      }
      latest.set(`${parsed.resourceType}/${parsed.id ?? ''}`, parsed);
    });
    const live = [...latest.values()].filter((r): r is Resource => !('deleted' in r));
    this.replaying = true;
    try {
      for (const resource of live) await super.createResource(resource);
    } finally {
      this.replaying = false;
    }
    const tmp = `${this.dataFile}.${process.pid}.tmp`;
    await writeFile(tmp, live.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await rename(tmp, this.dataFile);
    return live.length;
  }

  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const previous = resource.id ? await this.currentVersion(resource.resourceType, resource.id) : undefined;
    const saved = await super.createResource(resource);
    this.recordWrite({ resourceType: saved.resourceType, id: saved.id, previous }, saved);
    return saved;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = await this.currentVersion(resourceType, id);
    await super.deleteResource(resourceType, id);
    this.recordWrite({ resourceType, id, previous }, { resourceType, id, deleted: true });
  }

  override async withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.pending) return callback(undefined); // nested (a conditional create inside a transaction)
    this.pending = [];
    this.undo = [];
    try {
      const result = await callback(undefined);
      this.append(this.pending);
      return result;
    } catch (err) {
      await this.rollback();
      throw err;
    } finally {
      this.pending = undefined;
      this.undo = [];
    }
  }

  /** Resolves when every committed write so far is in the data file; rejects if an append failed. */
  async flush(): Promise<void> {
    await this.writeChain;
    const failure = this.writeFailure;
    if (failure) {
      this.writeFailure = undefined;
      throw new Error(`FHIR data file append failed: ${failure.message}`, { cause: failure });
    }
  }

  private async currentVersion(resourceType: string, id: string): Promise<Resource | undefined> {
    try {
      return await this.readResource(resourceType, id);
    } catch {
      return undefined;
    }
  }

  private recordWrite(step: UndoStep, line: LogLine): void {
    if (this.replaying) return;
    if (this.pending) {
      this.pending.push(line);
      this.undo.push(step);
    } else {
      this.append([line]);
    }
  }

  private async rollback(): Promise<void> {
    const steps = this.undo.reverse();
    this.undo = [];
    this.replaying = true; // undo writes are not logged: the failed transaction never reached the log
    try {
      for (const step of steps) {
        if (step.previous) await super.createResource(step.previous);
        else await super.deleteResource(step.resourceType, step.id).catch(() => undefined);
      }
    } finally {
      this.replaying = false;
    }
  }

  /** Appends lines in order; one appendFile per commit, so a transaction's lines land together. */
  private append(lines: LogLine[]): void {
    const file = this.dataFile;
    if (!file || lines.length === 0) return;
    const text = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    this.writeChain = this.writeChain.then(() =>
      appendFile(file, text).catch((err: Error) => {
        this.writeFailure = err;
      }),
    );
  }
}
