import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { silentLogger } from '../../src/logging';
import { StorageMonitor, storageMonitorFor, type StorageStatus } from './storage-monitor';

const KIB = 1024;

/** A statfs stand-in: free bytes per path, changed by the test. */
function fakeDisks(free: Record<string, number>): (p: string) => Promise<{ bavail: number; bsize: number }> {
  return async (p) => {
    const f = free[p];
    if (f === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return { bavail: Math.floor(f / 4096), bsize: 4096 };
  };
}

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('StorageMonitor', () => {
  const free: Record<string, number> = {};
  let monitor: StorageMonitor | undefined;
  const make = (logger = silentLogger): StorageMonitor =>
    (monitor = new StorageMonitor({
      paths: [
        { kind: 'data dir', path: '/data' },
        { kind: 'received dir', path: '/received' },
      ],
      minFreeBytes: 100 * KIB,
      resumeFreeBytes: 200 * KIB,
      checkIntervalMs: 20,
      statfs: fakeDisks(free),
      logger,
    }));

  beforeEach(() => {
    free['/data'] = 1000 * KIB;
    free['/received'] = 1000 * KIB;
  });
  afterEach(() => monitor?.stop());

  it('when the received dir drops below min, then pressure with its free bytes, and ok again only at resume', async () => {
    const m = make();
    await m.start();
    expect(m.spaceAvailable()).toBe(true);
    free['/received'] = 40 * KIB;
    const under = await m.check();
    expect(under.state).toBe('pressure');
    expect(under.paths).toEqual([
      { kind: 'data dir', path: '/data', freeBytes: 1000 * KIB },
      { kind: 'received dir', path: '/received', freeBytes: 40 * KIB },
    ]);
    expect(m.spaceAvailable()).toBe(false);
    await expect(m.readiness()).rejects.toThrow(/storage pressure: received dir has 40960 bytes \(0\.0 MiB\) free; below storage\.minFreeBytes \(102400\)/);
    free['/received'] = 150 * KIB;
    expect((await m.check()).state).toBe('pressure');
    free['/received'] = 200 * KIB;
    expect((await m.check()).state).toBe('ok');
    await expect(m.readiness()).resolves.toBeUndefined();
  });

  it('when space comes back, then the timer notices by itself and listeners hear each transition once', async () => {
    const m = make();
    const seen: StorageStatus[] = [];
    m.onChange((s) => seen.push(s));
    free['/data'] = 10 * KIB;
    await m.start();
    expect(m.status().state).toBe('pressure');
    free['/data'] = 500 * KIB;
    const deadline = Date.now() + 2000;
    while (m.spaceAvailable() === false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(m.spaceAvailable()).toBe(true);
    expect(seen.map((s) => s.state)).toEqual(['pressure', 'ok']);
    expect(Date.parse(m.status().since)).toBeGreaterThanOrEqual(Date.parse(seen[0]?.since ?? ''));
  });

  it('when a write was refused for lack of space, then pressure at once for one interval although statfs shows room', async () => {
    let now = 1_000_000;
    const m = new StorageMonitor({ paths: [{ kind: 'received dir', path: '/received' }], minFreeBytes: 100 * KIB, resumeFreeBytes: 200 * KIB, checkIntervalMs: 5000, statfs: fakeDisks(free), logger: silentLogger, now: () => now });
    await m.check();
    m.reportNoSpace('received dir');
    expect(m.spaceAvailable()).toBe(false);
    await m.check();
    expect(m.spaceAvailable()).toBe(false);
    await expect(m.readiness()).rejects.toThrow(/the received dir refused a write for lack of space/);
    now += 4999;
    expect((await m.check()).state).toBe('pressure');
    now += 1;
    expect((await m.check()).state).toBe('ok');
  });

  it('when a transition happens, then it is logged once: warn entering pressure, info leaving', async () => {
    const { logger, lines } = capture();
    const m = make(logger);
    await m.start();
    free['/received'] = 1 * KIB;
    await m.check();
    await m.check();
    free['/received'] = 900 * KIB;
    await m.check();
    await m.check();
    const transitions = lines.filter((l) => String(l.msg).startsWith('storage pressure'));
    expect(transitions.map((l) => [l.level, l.msg])).toEqual([
      [40, 'storage pressure: intake paused until space is freed'],
      [30, 'storage pressure over: intake resumed'],
    ]);
  });

  it('when a watched folder does not exist yet, then its nearest existing parent is measured', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'storage-'));
    const m = new StorageMonitor({ paths: [{ kind: 'received dir', path: path.join(root, 'not', 'yet') }], minFreeBytes: 1, resumeFreeBytes: 1, checkIntervalMs: 1000, logger: silentLogger });
    const s = await m.check();
    expect(s.paths[0]?.freeBytes).toBeGreaterThan(0);
  });

  it('when a path cannot be read, then it is logged once and the others still decide', async () => {
    const { logger, lines } = capture();
    const m = make(logger);
    delete free['/data'];
    free['/received'] = 1 * KIB;
    // ENOENT walks up to "/", which the fake does not know either.
    await m.check();
    await m.check();
    expect(m.status().state).toBe('pressure');
    expect(m.status().paths[0]).toMatchObject({ kind: 'data dir', error: 'ENOENT' });
    expect(lines.filter((l) => l.msg === 'free space of a watched folder could not be read')).toHaveLength(1);
  });

  it('when resumeFreeBytes is below minFreeBytes, then the monitor refuses to start with a config error', () => {
    expect(() => new StorageMonitor({ paths: [], minFreeBytes: 10, resumeFreeBytes: 5, checkIntervalMs: 100, logger: silentLogger })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
  });

  it('when only STOW-RS is on, then the data dir and the received dir are watched', () => {
    const m = storageMonitorFor(
      { dataDir: '/var/ca', storage: { minFreeBytes: 1, resumeFreeBytes: 2, checkIntervalMs: 100 }, push: { receivedDir: '/mnt/in' }, stow: { enabled: true }, dimse: { enabled: false } },
      silentLogger,
    );
    expect(m.status().paths.map((p) => [p.kind, p.path])).toEqual([
      ['data dir', '/var/ca'],
      ['received dir', '/mnt/in'],
    ]);
    expect(m.retryAfterSeconds()).toBe(10);
  });
});
