import { rmSync } from 'node:fs';
import { IMPLEMENTATION } from '../../src/dicom/part10';
import { findLeaks, LOG_CAPTURE_ENV, readCapture } from './log-capture';

/**
 * jest globalTeardown: reads every line the service processes printed during the run and fails the run (jest
 * exits 1) when any carries a synthetic patient's name, ID or birth date, a configured secret, or a UID in clear.
 * It runs after every test file, whatever the order and the number of workers.
 */
export default function teardown(): void {
  const dir = process.env[LOG_CAPTURE_ENV];
  if (!dir) return;
  const { files, forbidden } = readCapture(dir);
  const lines = files.reduce((n, f) => n + f.lines.length, 0);
  if (files.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const leaks = findLeaks(files, forbidden, new Set([IMPLEMENTATION.classUid]));
  if (leaks.length === 0) {
    console.log(`log check: ${lines} lines of ${files.length} service processes, ${forbidden.length} forbidden values: no patient data, secret or UID in clear`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const shown = leaks.slice(0, 40).map((l) => `  ${l.file}:${l.line} ${l.kind}: ${l.excerpt}`);
  throw new Error(
    `log check failed: ${leaks.length} leak(s) in ${lines} captured service log lines (kept in ${dir}):\n${shown.join('\n')}${leaks.length > shown.length ? `\n  … ${leaks.length - shown.length} more` : ''}`,
  );
}
