import { CONTRACT_LIMITS, dicomVetterContract } from '../../test/support/dicom-vetter-contract';
import { deflateBomb, hostileFixtures, hugeHeaderFile, sampleFile } from '../../test/support/hostile-dicom';
import { ChildProcessVetter } from './child-process-vetter';

// Tight limits keep the hostile cases short: each ends at the time limit or the memory cap, whichever comes first.
const options = { processes: 2, memoryMb: 256, timeoutMs: 4000, maxRssBytes: 700 * 1024 * 1024 };

dicomVetterContract('child processes', (limits) => new ChildProcessVetter({ ...options, limits }));

describe('ChildProcessVetter with files that take the parser down', () => {
  let vetter: ChildProcessVetter;
  beforeAll(() => {
    vetter = new ChildProcessVetter({ ...options, limits: CONTRACT_LIMITS });
  });
  afterAll(() => vetter.close());

  it('answers "fatal" for every regression fixture, stays up, and vets the next file in a fresh process', async () => {
    const fixtures = hostileFixtures();
    expect(fixtures.length).toBeGreaterThanOrEqual(3);
    const results = await Promise.all(fixtures.map((f) => vetter.vet({ path: f.path })));
    for (const [i, r] of results.entries()) {
      expect({ fixture: fixtures[i]?.name, ...r }).toMatchObject({ ok: false, code: 'BAD_DICOM', fatal: expect.stringMatching(/^(crash|timeout)$/) });
    }
    expect(await vetter.vet({ bytes: sampleFile() })).toEqual({ ok: true });
    // The children that died were replaced: at least one start per fatal file, on top of the first two.
    expect(vetter.started).toBeGreaterThanOrEqual(fixtures.length + 1);
  });

  it('the same fixture parsed with dcmjs in a plain process really kills it (the fixtures are not stale)', () => {
    const { spawnSync } = jest.requireActual<typeof import('node:child_process')>('node:child_process');
    const fixture = hostileFixtures().find((f) => f.name.startsWith('pydicom-sc-rgb-rle-32bit'));
    expect(fixture).toBeDefined();
    const script = `const { readPart10 } = require('./src/dicom/part10'); readPart10(new Uint8Array(require('fs').readFileSync(${JSON.stringify(fixture?.path)}))); console.log('survived');`;
    const run = spawnSync(process.execPath, ['--max-old-space-size=256', '--require', 'ts-node/register/transpile-only', '-e', script], { cwd: `${__dirname}/../..`, timeout: 30_000, encoding: 'utf8' });
    expect(run.stdout).not.toContain('survived');
    expect(run.signal ?? run.status).not.toBe(0);
  });

  it('keeps a deflate bomb and a 65535³ header under the memory bound (peak RSS of the vetting child)', async () => {
    const bomb = await deflateBomb();
    const fresh = new ChildProcessVetter({ ...options, processes: 1, limits: CONTRACT_LIMITS });
    try {
      expect(await fresh.vet({ bytes: bomb })).toMatchObject({ ok: false, code: 'TOO_LARGE' });
      expect(await fresh.vet({ bytes: hugeHeaderFile() })).toMatchObject({ ok: false, code: 'TOO_LARGE' });
      const [peak] = fresh.peakRss();
      // 64 MiB inflate cap + the 3.9 MB input + a Node baseline: far below what 3.75 GB inflated would need.
      expect(peak).toBeLessThan(400 * 1024 * 1024);
      process.stdout.write(`vetting child peak RSS after deflate bomb + huge header: ${Math.round((peak ?? 0) / 1048576)} MiB\n`);
    } finally {
      await fresh.close();
    }
  });

  it('vets a file by its path after the crashes', async () => {
    expect(await vetter.vet({ path: `${__dirname}/../../test/fixtures/sample-mr/dicom/IM0002.dcm` })).toEqual({ ok: true });
  });
});
