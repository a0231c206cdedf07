/**
 * Mutation fuzzing in CI: at least 1,000 mutants of real DICOM (the sample series and pydicom's test files) through
 * the same child-process vetter the service uses. Seed printed; set FUZZ_SEED to replay a run, FUZZ_COUNT for more.
 * The parent (this process) must survive every mutant and no vet may run past the per-file limit; mutants that took
 * a vetting child down are written out (FUZZ_OUT, default a temp dir) to be kept as fixtures (test/fixtures/hostile).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ChildProcessVetter } from '../../adapters/dicom-vetting/child-process-vetter';
import { seededRandom } from '../../src/synth/seeded-random';
import { fuzzCorpus, mutate } from '../support/dicom-mutator';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const count = Number(process.env.FUZZ_COUNT ?? 1000);
const TIMEOUT_MS = 3000;

describe(`DICOM mutation fuzzing (FUZZ_SEED=${seed})`, () => {
  it(`survives ${count} mutants with no vet past the per-file limit`, async () => {
    process.stdout.write(`dicom fuzz: FUZZ_SEED=${seed} FUZZ_COUNT=${count}\n`);
    const corpus = fuzzCorpus();
    expect(corpus.length).toBeGreaterThan(4);
    const rand = seededRandom(seed);
    const vetter = new ChildProcessVetter({ limits: { maxInstanceBytes: 64 * 1024 * 1024, maxVoxels: 400_000_000 }, processes: 2, memoryMb: 256, timeoutMs: TIMEOUT_MS, maxRssBytes: 600 * 1024 * 1024 });
    const out = process.env.FUZZ_OUT ?? path.join(tmpdir(), `dicom-fuzz-${seed}`);
    const tally: Record<string, number> = {};
    let slowest = 0;
    const started = Date.now();
    try {
      const mutants = Array.from({ length: count }, (_, i) => {
        const source = corpus[Math.floor(rand() * corpus.length)] as (typeof corpus)[number];
        return { i, source: source.name, ...mutate(source.bytes, rand) };
      });
      // Two at a time, as the pool runs; each timed from its own start.
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < mutants.length) {
          const m = mutants[next++] as (typeof mutants)[number];
          const t = Date.now();
          const r = await vetter.vet({ bytes: m.bytes });
          slowest = Math.max(slowest, Date.now() - t);
          const key = r.ok ? 'ok' : (r.fatal ?? r.code);
          tally[key] = (tally[key] ?? 0) + 1;
          if (!r.ok && r.fatal) {
            mkdirSync(out, { recursive: true });
            writeFileSync(path.join(out, `${seed}-${m.i}.dcm`), m.bytes);
            writeFileSync(path.join(out, `${seed}-${m.i}.txt`), `${m.source}: ${m.steps.join(' ')} -> ${r.fatal}\n`);
          }
        }
      };
      await Promise.all([lane(), lane()]);
    } finally {
      await vetter.close();
    }
    process.stdout.write(`dicom fuzz: ${count} mutants in ${Date.now() - started} ms, slowest ${slowest} ms, ${JSON.stringify(tally)}${tally.crash || tally.timeout ? `, fatal mutants in ${out}` : ''}\n`);
    expect(Object.values(tally).reduce((a, b) => a + b, 0)).toBe(count);
    // The limit plus the time to notice and kill: a vet that hangs past this is a hang of the service's intake.
    expect(slowest).toBeLessThan(TIMEOUT_MS + 2000);
  }, 300_000);
});
