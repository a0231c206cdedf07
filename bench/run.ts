/**
 * `npm run bench`: runs every benchmark script in its own process (so one's memory does not skew another's),
 * collects the JSON lines they print, and writes docs/benchmarks.md with the machine and date. Ratios are measured
 * side by side inside each script, because this machine is shared and absolute timings are noisy.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface BenchScript {
  file: string;
  title: string;
  what: string;
}

const SCRIPTS: BenchScript[] = [
  { file: 'seg-pack.js', title: 'DICOM SEG encoding', what: 'Bit packing throughput: the one-pass packer the encoder uses and the frame-by-frame one, and a whole SEG build. Target ≥ 1 Gvox/s.' },
  { file: 'seg-vs-dcmjs.js', title: 'SEG build vs dcmjs', what: 'Source Part 10 files + 5-segment label map to SEG bytes, ours against dcmjs 0.51 (Cornerstone adapter generateSegmentation), each encoder in its own process for peak RSS (3 interleaved runs, medians), both SEGs decoded and compared voxel by voxel. Targets: ≥ 20× faster, encoder memory ≤ label map + 2× SEG.' },
  { file: 'preprocess.js', title: 'Preprocessing passes vs memory copy', what: 'Each elementwise intensity pass over a 512×512×300 float32 volume, timed beside a plain copy of the same array.' },
  { file: 'decode-vs-dcmtk.js', title: 'Lossless decode vs reference decoders', what: 'Our decoders against DCMTK (JPEG-LS) and OpenJPEG (JPEG 2000) on the same files, one core each. Target ratio ≥ 0.5.' },
  { file: 'event-loop-lag.js', title: 'Event-loop lag during 3D inference', what: 'monitorEventLoopDelay p99 while a sliding-window inference runs in a worker thread, and the same inference on the main thread. Target p99 ≤ 50 ms (worker).' },
];

function table(rows: Record<string, unknown>[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(keys), line(keys.map(() => '---')), ...rows.map((r) => line(keys.map((k) => (r[k] === undefined ? '' : String(r[k])))))].join('\n');
}

function main(): number {
  const dir = __dirname;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const sections: string[] = [];
  let failures = 0;
  for (const s of SCRIPTS) {
    const file = path.join(dir, s.file);
    if (!existsSync(file)) {
      sections.push(`## ${s.title}\n\nNot run: ${s.file} is missing.`);
      failures++;
      continue;
    }
    console.log(`bench: ${s.file} …`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    const rows = (r.stdout ?? '')
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    const status = r.status === 0 ? '' : `\n\n**The script failed** (exit ${r.status}): ${(r.stderr ?? '').split('\n').slice(-5).join(' ').slice(0, 500)}`;
    if (r.status !== 0) failures++;
    sections.push(`## ${s.title}\n\n${s.what} (\`node dist/bench/${s.file}\`, ${((Date.now() - t0) / 1000).toFixed(0)} s)\n\n${rows.length ? table(rows) : 'No results.'}${status}`);
    process.stdout.write(r.stdout ?? '');
  }
  const md = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); do not edit by hand.

- Date: ${new Date().toISOString()}
- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}
- Node ${process.version}
- The machine is shared and noisy: compare the ratios measured side by side within one run, not absolute times
  across runs.

${sections.join('\n\n')}
`;
  writeFileSync(path.join(dir, '..', '..', 'docs', 'benchmarks.md'), md);
  console.log(`bench: wrote docs/benchmarks.md${failures ? ` (${failures} script(s) failed or missing)` : ''}`);
  return failures ? 1 : 0;
}

process.exit(main());
