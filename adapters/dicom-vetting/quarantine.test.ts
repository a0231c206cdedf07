import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/logging';
import { QUARANTINED_MESSAGE, type DicomVetter, type VetInput, type VetResult } from '../../src/ports/dicom-vetting';
import { CONTRACT_LIMITS } from '../../test/support/dicom-vetter-contract';
import { hostileFixtures, sampleFile } from '../../test/support/hostile-dicom';
import { ChildProcessVetter } from './child-process-vetter';
import { Quarantine, QuarantiningVetter } from './quarantine';

/** Counts what reaches the real vetter behind it, to prove a denylisted file is not parsed again. */
class CountingVetter implements DicomVetter {
  calls = 0;
  constructor(private readonly inner: DicomVetter) {}
  vet(input: VetInput): Promise<VetResult> {
    this.calls++;
    return this.inner.vet(input);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('Quarantine', () => {
  let dir: string;
  let pool: ChildProcessVetter;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'quarantine-'));
    pool = new ChildProcessVetter({ limits: CONTRACT_LIMITS, processes: 1, memoryMb: 256, timeoutMs: 3000, maxRssBytes: 600 * 1024 * 1024 });
  });
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a file that took the parser down, with a sidecar, and refuses it unparsed after a restart', async () => {
    const fixture = hostileFixtures()[0];
    if (!fixture) throw new Error('no hostile fixtures');
    const bytes = readFileSync(fixture.path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const first = new Quarantine(dir, silentLogger);
    await first.init();
    const counting = new CountingVetter(pool);
    const result = await new QuarantiningVetter(counting, first, 'stow').vet({ path: fixture.path });
    expect(result).toMatchObject({ ok: false, code: 'BAD_DICOM', fatal: expect.stringMatching(/crash|timeout/), sha256, message: expect.stringContaining(QUARANTINED_MESSAGE) });
    expect(counting.calls).toBe(1);

    expect(readdirSync(dir).sort()).toEqual([`${sha256}.dcm`, `${sha256}.json`]);
    expect(readFileSync(path.join(dir, `${sha256}.dcm`)).equals(bytes)).toBe(true);
    const record = JSON.parse(readFileSync(path.join(dir, `${sha256}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toEqual({ sha256, quarantinedAt: expect.any(String), code: 'BAD_DICOM', reason: result.ok ? '' : result.fatal, detail: expect.any(String), bytes: bytes.length, source: 'stow' });
    // No path, no header values: the sidecar names the file by its hash only.
    expect(JSON.stringify(record)).not.toContain(path.basename(fixture.path));

    // "Restart": a new quarantine over the same folder denies the file without handing it to the parser.
    const restarted = new Quarantine(dir, silentLogger);
    await restarted.init();
    const again = new CountingVetter(pool);
    const vetter = new QuarantiningVetter(again, restarted, 'folder');
    expect(await vetter.vet({ bytes })).toEqual({ ok: false, code: 'BAD_DICOM', message: QUARANTINED_MESSAGE, fatal: 'quarantined', sha256 });
    expect(again.calls).toBe(0);
    // Good files still go through.
    expect(await vetter.vet({ bytes: sampleFile() })).toEqual({ ok: true });
    expect(again.calls).toBe(1);
  });

  it('does not quarantine a file that is merely bad', async () => {
    const q = new Quarantine(path.join(dir, 'plain'), silentLogger);
    await q.init();
    const r = await new QuarantiningVetter(pool, q, 'stow').vet({ bytes: sampleFile().subarray(0, 5000) });
    expect(r).toMatchObject({ ok: false, code: 'BAD_DICOM' });
    expect(r).not.toHaveProperty('fatal');
    expect(q.size).toBe(0);
    expect(readdirSync(path.join(dir, 'plain'))).toEqual([]);
  });
});
