import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { forbidInLogs, openLogCapture, secretsOfEnv } from './log-capture';

const ROOT = path.join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** Every line the service printed (JSON logs), for assertions on logging. */
  output: string[];
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash) and wait for exit. */
  kill(): Promise<void>;
}

/** Starts the built service (`node bin/clinical-ai.js serve`) as its own process and waits for /healthz. */
export async function startServiceProcess(env: Record<string, string>, options: { port?: number } = {}): Promise<ServiceProcess> {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npm run build` first (npm test does)');
  const port = options.port ?? (await freePort());
  // The log proof (test/support/log-capture.ts): every e2e service logs at debug, every line is captured, and the
  // secrets it was configured with are recorded as values no line may carry.
  const fullEnv = { PATH: process.env.PATH ?? '', CLINICAL_AI_HTTP_HOST: '127.0.0.1', CLINICAL_AI_HTTP_PORT: String(port), ...env, CLINICAL_AI_LOG_LEVEL: 'debug' };
  for (const s of secretsOfEnv(fullEnv)) forbidInLogs(s.kind, s.value);
  const capture = openLogCapture('serve');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'clinical-ai.js'), 'serve'], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // Chunks are not lines: keep a partial last line per stream until its end arrives.
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let partial = '';
    const take = (lines: string[]): void => {
      output.push(...lines);
      capture?.(lines);
    };
    stream?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      take(parts.filter(Boolean));
    });
    stream?.on('end', () => take(partial ? [partial] : []));
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited early (${child.exitCode}):\n${output.join('\n')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`service did not answer /healthz:\n${output.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls fn until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
