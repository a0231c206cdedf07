/**
 * Seed model families (issue #6): exports each architecture with PyTorch, runs it through the plugin's pipeline,
 * compares with PyTorch, measures latency and memory, and writes docs/model-families.md.
 *
 *   nice -n 10 npm run model-families [-- --families a,b --size full|tiny --runs N --threads N --dir DIR --no-docs]
 *
 * Exit code 0 when every family passes, 1 otherwise.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultThreads, measureChild, REPO_ROOT, runFamilies } from './model-families/driver';
import { renderReport } from './model-families/report';
import { FAMILIES, type FamilySize } from './model-families/specs';

interface Args {
  families: string[];
  size: FamilySize;
  runs: number;
  threads: number;
  dir: string;
  docs: boolean;
  child?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { families: FAMILIES.map((f) => f.id), size: 'full', runs: 5, threads: defaultThreads(), dir: path.join(REPO_ROOT, 'var', 'model-families'), docs: true };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${key} needs a value`);
      return v;
    };
    if (key === '--families') args.families = value().split(',').filter(Boolean);
    else if (key === '--size') args.size = value() === 'tiny' ? 'tiny' : 'full';
    else if (key === '--runs') args.runs = Math.max(1, Number(value()));
    else if (key === '--threads') args.threads = Math.max(1, Number(value()));
    else if (key === '--dir') args.dir = path.resolve(value());
    else if (key === '--no-docs') args.docs = false;
    else if (key === '--child') args.child = value();
    else throw new Error(`unknown option ${key}`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    await measureChild(args.dir, args.child, args.size, args.runs, args.threads);
    return 0;
  }
  const loadAverage = os.loadavg();
  const started = new Date();
  const results = await runFamilies({
    dir: args.dir,
    families: args.families,
    size: args.size,
    runs: args.runs,
    isolate: true,
    intraOpThreads: args.threads,
    log: (line) => console.log(line),
  });
  for (const r of results) {
    const e = r.errors;
    const m = r.measure;
    console.log(
      `${r.pass ? 'PASS' : 'FAIL'} ${r.spec.id}` +
        (e ? ` maxAbs ${e.maxAbs.toExponential(2)} maxRel ${e.maxRel.toExponential(2)}` : '') +
        (m ? ` median ${m.medianMs.toFixed(1)} ms` : '') +
        (r.failure ? ` — ${r.failure}` : ''),
    );
  }
  if (args.docs) {
    const command = ['nice -n 10 npm run model-families', ...(args.size === 'tiny' ? ['-- --size tiny'] : [])].join(' ');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const onnxruntimeVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
    const doc = renderReport(results, { command, date: started, runs: args.runs, intraOpThreads: args.threads, onnxruntimeVersion, loadAverage });
    const out = path.join(REPO_ROOT, 'docs', 'model-families.md');
    writeFileSync(out, doc);
    console.log(`wrote ${path.relative(REPO_ROOT, out)}`);
  }
  return results.every((r) => r.pass) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    process.exit(2);
  },
);
