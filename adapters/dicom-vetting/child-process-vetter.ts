import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { VetLimits } from '../../src/dicom/vet';
import { AppError } from '../../src/domain/errors';
import { silentLogger, type Logger } from '../../src/logging';
import type { DicomVetter, VetInput, VetResult } from '../../src/ports/dicom-vetting';
import type { VetRequest, VetResponse } from './vetting-protocol';

export interface ChildProcessVetterOptions {
  limits: VetLimits;
  /** Vetting processes kept running (limits.parserProcesses). */
  processes: number;
  /** V8 heap cap of each process, --max-old-space-size (limits.parserMemoryMb). */
  memoryMb: number;
  /** Per-file time limit (limits.parseTimeoutMs): past it the process is killed and the file counts as hostile. */
  timeoutMs: number;
  /**
   * Cap on a process's resident memory (bytes), checked every rssPollMs while it works: buffers outside the V8
   * heap (the file, dcmjs's copies, strings being decoded) are not covered by --max-old-space-size.
   * Default: memoryMb + 3 × maxInstanceBytes (the file, dcmjs's copy of it and a pixel buffer).
   */
  maxRssBytes?: number;
  rssPollMs?: number;
  logger?: Logger;
}

/** Resolves the child's entry: compiled JavaScript in dist (production), else the TypeScript source (tests). */
function childEntry(): { file: string; execArgv: string[] } {
  const js = path.join(__dirname, 'vetting-child.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: path.join(__dirname, 'vetting-child.ts'), execArgv: ['--require', 'ts-node/register/transpile-only'] };
}

interface Task {
  request: Omit<VetRequest, 'id' | 'limits'>;
  resolve: (r: VetResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  child: ChildProcess;
  task?: Task & { id: number; timer: NodeJS.Timeout; rssTimer?: NodeJS.Timeout; killedFor?: 'timeout' | 'memory' };
}

/** Resident memory of a process from /proc (Linux); undefined elsewhere. */
function rssOf(pid: number): number | undefined {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(statm[1]) * 4096;
  } catch {
    return undefined;
  }
}

/** An idle child must not keep the parent's event loop alive (a `run` that finished should exit). */
function idle(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
}

function busy(child: ChildProcess): void {
  child.ref();
  child.channel?.ref();
}

/**
 * DicomVetter over a small pool of long-lived child processes (child_process.fork). Not worker threads: a V8
 * fatal error in a worker thread aborts the whole process (docs/decisions/0015-dicom-parser-in-child-processes.md).
 * Each child vets one file at a time; a child that dies or runs past the time limit answers "fatal" for the file
 * it had and is replaced on the next request.
 */
export class ChildProcessVetter implements DicomVetter {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly log: Logger;
  private readonly maxRss: number;
  /** Children started in all (first starts and restarts), for tests and figures. */
  started = 0;

  constructor(private readonly options: ChildProcessVetterOptions) {
    this.slots = new Array<Slot | undefined>(Math.max(1, options.processes)).fill(undefined);
    this.log = options.logger ?? silentLogger;
    this.maxRss = options.maxRssBytes ?? options.memoryMb * 1024 * 1024 + 3 * options.limits.maxInstanceBytes;
  }

  vet(input: VetInput): Promise<VetResult> {
    if (this.closed) return Promise.reject(new AppError('INTERNAL', 'the DICOM vetter is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: 'path' in input ? { path: input.path } : { bytes: input.bytes }, resolve, reject });
      this.dispatch();
    });
  }

  private spawn(): Slot {
    const entry = childEntry();
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${this.options.memoryMb}`],
      // Structured clone: bytes travel as bytes, not as JSON arrays.
      serialization: 'advanced',
      // stderr carries V8's fatal error report (it may quote nothing from the file, but keep it out of our logs).
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    this.started++;
    idle(child);
    const slot: Slot = { child };
    child.on('message', (msg: VetResponse) => {
      const task = slot.task;
      if (!task || msg.id !== task.id) return;
      this.finish(slot, msg.result);
    });
    child.on('error', () => undefined); // reported through 'exit'
    child.once('exit', (code, signal) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = undefined;
      const task = slot.task;
      if (task && this.closed) {
        clearTimeout(task.timer);
        if (task.rssTimer) clearInterval(task.rssTimer);
        slot.task = undefined;
        task.reject(new AppError('INTERNAL', 'the DICOM vetter was closed'));
      } else if (task) {
        const fatal = task.killedFor === 'timeout' ? 'timeout' : 'crash';
        const message =
          task.killedFor === 'timeout'
            ? `the DICOM parser ran past limits.parseTimeoutMs (${this.options.timeoutMs} ms) on this file`
            : task.killedFor === 'memory'
              ? `the DICOM parser used more than ${Math.round(this.maxRss / 1048576)} MiB on this file`
              : `the DICOM parser process died on this file (${signal ?? `exit code ${code}`})`;
        this.log.warn({ fatal, ...(signal ? { signal } : { exitCode: code }) }, 'DICOM vetting process ended on a file');
        this.finish(slot, { ok: false, code: 'BAD_DICOM', message, fatal });
      }
      if (!this.closed) this.dispatch();
    });
    return slot;
  }

  private finish(slot: Slot, result: VetResult): void {
    const task = slot.task;
    if (!task) return;
    clearTimeout(task.timer);
    if (task.rssTimer) clearInterval(task.rssTimer);
    slot.task = undefined;
    idle(slot.child);
    task.resolve(result);
    this.dispatch();
  }

  private dispatch(): void {
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      let slot = this.slots[i];
      if (slot?.task) continue;
      if (!slot || slot.child.exitCode !== null || slot.child.signalCode !== null) {
        slot = this.spawn();
        this.slots[i] = slot;
      }
      const task = this.queue.shift() as Task;
      const id = this.nextId++;
      const current = slot;
      const kill = (why: 'timeout' | 'memory'): void => {
        if (current.task?.id !== id) return;
        current.task.killedFor = why;
        current.child.kill('SIGKILL');
      };
      const timer = setTimeout(() => kill('timeout'), this.options.timeoutMs);
      const pid = current.child.pid;
      const rssTimer =
        pid === undefined
          ? undefined
          : setInterval(() => {
              const rss = rssOf(pid);
              if (rss !== undefined && rss > this.maxRss) kill('memory');
            }, this.options.rssPollMs ?? 50);
      busy(current.child);
      current.task = { ...task, id, timer, ...(rssTimer ? { rssTimer } : {}) };
      const request: VetRequest = { id, limits: this.options.limits, ...task.request };
      current.child.send(request, (err) => {
        // The child died before it read the request: its 'exit' answers the task.
        if (err) this.log.debug({ err: err.message }, 'vetting request not delivered');
      });
    }
  }

  /** Peak resident memory (VmHWM, bytes) of each running child, from /proc (Linux): figures and tests. */
  peakRss(): number[] {
    const out: number[] = [];
    for (const slot of this.slots) {
      const pid = slot?.child.pid;
      if (pid === undefined) continue;
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) out.push(Number(m[1]) * 1024);
      } catch {
        /* gone, or not Linux */
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new AppError('INTERNAL', 'the DICOM vetter was closed'));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot) return;
        const ended = new Promise<void>((resolve) => (slot.child.exitCode !== null || slot.child.signalCode !== null ? resolve() : slot.child.once('exit', () => resolve())));
        // An idle child is unref'd; ref it again, or a caller awaiting close() (`run`) sees an empty event loop
        // and the process ends before the exit arrives.
        busy(slot.child);
        slot.child.kill('SIGKILL');
        await ended;
      }),
    );
  }
}
