import { statfs as fsStatfs } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../src/domain/errors';
import type { Logger } from '../../src/logging';
import { nextStorageState, watermarkProblem, type PathReading, type StorageKind, type StorageState, type Watermarks } from './storage-state';

export type { StorageKind, StorageState } from './storage-state';

/** The config keys of the monitor (src/config.ts Config.storage). */
export interface StorageConfig extends Watermarks {
  checkIntervalMs: number;
}

export interface StorageStatus {
  state: StorageState;
  /** When the current state began (ISO time; the start of the monitor for the first state). */
  since: string;
  /** When free space was last looked at (ISO time). */
  checkedAt: string;
  /** Free bytes per watched path, as of checkedAt. */
  paths: PathReading[];
  minFreeBytes: number;
  resumeFreeBytes: number;
}

/** What the push intakes need of the monitor: ask before writing, report a write the disk refused. */
export interface SpaceGate {
  spaceAvailable(): boolean;
  /** A write failed with ENOSPC/EDQUOT: pressure at once and for at least one check interval. */
  reportNoSpace(kind: StorageKind): void;
  /** Seconds a refused sender should wait (HTTP Retry-After). */
  retryAfterSeconds(): number;
  /** Why there is no space, without patient data (for answers and logs). */
  reason(): string;
}

type Statfs = (p: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export interface StorageMonitorOptions extends StorageConfig {
  paths: readonly { kind: StorageKind; path: string }[];
  logger: Logger;
  /** Stand-in for fs.statfs in tests. */
  statfs?: Statfs;
  now?: () => number;
}

/** A refused sender is asked to wait at least this long: freeing space takes an operator or a cleanup pass. */
const MIN_RETRY_AFTER_S = 10;

/** statfs of the path, or of its nearest existing parent (a folder not created yet is on its parent's disk). */
async function statfsNearest(statfs: Statfs, p: string): Promise<number> {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    try {
      const s = await statfs(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    }
  }
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * Watches the free space of the data dir and the received dir (statfs; they may be one disk) every
 * checkIntervalMs, and at once when a write failed for lack of space. Below storage.minFreeBytes on any of them the
 * state is `pressure`: the push intakes refuse instances before writing them, checkpoints are not written and
 * /readyz says not ready. It is `ok` again only once every path has storage.resumeFreeBytes, without a restart.
 */
export class StorageMonitor implements SpaceGate {
  private state: StorageState = 'ok';
  private since: number;
  private checkedAt: number;
  private readings: PathReading[];
  /** The last write the disk refused for lack of space, and when. */
  private refused: { kind: StorageKind; at: number } | undefined;
  /** A refusal not yet looked at: no space already, the look that follows logs the transition with fresh figures. */
  private refusalPending = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<StorageStatus> | undefined;
  private again = false;
  private readonly listeners = new Set<(status: StorageStatus) => void>();
  private readonly failedPaths = new Set<string>();
  private readonly statfs: Statfs;
  private readonly now: () => number;

  constructor(private readonly options: StorageMonitorOptions) {
    const problem = watermarkProblem(options);
    if (problem) throw new AppError('CONFIG_INVALID', problem);
    this.statfs = options.statfs ?? fsStatfs;
    this.now = options.now ?? Date.now;
    this.since = this.checkedAt = this.now();
    // Two kinds on one path (received dir inside the data dir's folder is not the same path) are both kept.
    this.readings = options.paths.map((p) => ({ kind: p.kind, path: path.resolve(p.path) }));
  }

  /** First look (so the state is right before any intake starts), then one every checkIntervalMs. */
  async start(): Promise<void> {
    await this.check();
    const loop = (): void => {
      this.timer = setTimeout(() => void this.check().finally(() => this.timer && loop()), this.options.checkIntervalMs);
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  spaceAvailable = (): boolean => this.state === 'ok' && !this.refusalPending;

  status(): StorageStatus {
    return {
      state: this.state,
      since: new Date(this.since).toISOString(),
      checkedAt: new Date(this.checkedAt).toISOString(),
      paths: this.readings.map((r) => ({ ...r })),
      minFreeBytes: this.options.minFreeBytes,
      resumeFreeBytes: this.options.resumeFreeBytes,
    };
  }

  /** Called with the new status on every transition (ok → pressure, pressure → ok). Returns an unsubscribe. */
  onChange(listener: (status: StorageStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reportNoSpace(kind: StorageKind): void {
    this.refused = { kind, at: this.now() };
    // At once, so the next instance of the same request is refused before it is written; the look decides.
    this.refusalPending = true;
    void this.check();
  }

  retryAfterSeconds(): number {
    return Math.max(MIN_RETRY_AFTER_S, Math.ceil(this.options.checkIntervalMs / 1000));
  }

  reason(): string {
    if (this.state === 'ok') return 'enough free space';
    const low = this.readings.filter((r) => r.freeBytes !== undefined && r.freeBytes < this.options.resumeFreeBytes);
    const where = low.length > 0 ? low.map((r) => `${r.kind} has ${r.freeBytes} bytes (${mib(r.freeBytes ?? 0)}) free`).join(', ') : `the ${this.refused?.kind ?? 'disk'} refused a write for lack of space`;
    return `${where}; below storage.minFreeBytes (${this.options.minFreeBytes}) intake stops, and it resumes at storage.resumeFreeBytes (${this.options.resumeFreeBytes})`;
  }

  /** The /readyz check: fails under pressure with the reason. */
  readiness = async (): Promise<void> => {
    if (this.state === 'pressure') throw new Error(`storage pressure: ${this.reason()}`);
  };

  /** Looks at every path now (after a write failure, or on the timer). Looks asked for during one run one more time. */
  check(): Promise<StorageStatus> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.look();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
      return this.status();
    })();
    return this.running;
  }

  private async look(): Promise<void> {
    const readings = await Promise.all(
      this.readings.map(async ({ kind, path: p }): Promise<PathReading> => {
        try {
          const freeBytes = await statfsNearest(this.statfs, p);
          this.failedPaths.delete(p);
          return { kind, path: p, freeBytes };
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
          if (!this.failedPaths.has(p)) this.options.logger.warn({ kind, path: p, code }, 'free space of a watched folder could not be read');
          this.failedPaths.add(p);
          return { kind, path: p, error: code };
        }
      }),
    );
    // A refusal holds pressure for one interval: statfs may show room the disk will not give (quota, reserved blocks).
    const refused = this.refused && this.now() - this.refused.at < this.options.checkIntervalMs ? this.refused.kind : undefined;
    const next = nextStorageState(this.state, readings, this.options, refused !== undefined);
    this.readings = readings;
    this.checkedAt = this.now();
    this.refusalPending = false;
    this.transition(next, refused);
  }

  private transition(next: StorageState, refused: StorageKind | undefined): void {
    if (next === this.state) return;
    this.state = next;
    this.since = this.now();
    const free = this.readings.map((r) => ({ kind: r.kind, freeBytes: r.freeBytes }));
    if (next === 'pressure') {
      this.options.logger.warn({ free, minFreeBytes: this.options.minFreeBytes, resumeFreeBytes: this.options.resumeFreeBytes, ...(refused ? { refusedBy: refused } : {}) }, 'storage pressure: intake paused until space is freed');
    } else {
      this.options.logger.info({ free, resumeFreeBytes: this.options.resumeFreeBytes }, 'storage pressure over: intake resumed');
    }
    const status = this.status();
    for (const listener of this.listeners) listener(status);
  }
}

/** The monitor of the service's folders: the data dir always, the received dir when a push intake is on. */
export function storageMonitorFor(
  config: { dataDir: string; storage: StorageConfig; push: { receivedDir: string }; stow: { enabled: boolean }; dimse: { enabled: boolean } },
  logger: Logger,
): StorageMonitor {
  const paths: { kind: StorageKind; path: string }[] = [{ kind: 'data dir', path: config.dataDir }];
  if (config.stow.enabled || config.dimse.enabled) paths.push({ kind: 'received dir', path: config.push.receivedDir || path.join(config.dataDir, 'received') });
  return new StorageMonitor({ ...config.storage, paths, logger: logger.child({ component: 'storage' }) });
}
