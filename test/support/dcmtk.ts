import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a DCMTK tool (storescu, echoscu, …) and returns its exit code and combined output instead of throwing. */
export async function dcmtk(tool: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await run(tool, args, { timeout: 30_000 });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
