import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { forbidInLogs, LOG_CAPTURE_ENV, patientForms, SYNTHETIC_PATIENT } from './log-capture';

/**
 * jest globalSetup: a fresh capture folder for this run (workers and service processes inherit its path through
 * the environment), and the values no log line may carry: the synthetic patients of the e2e studies (UIDs in
 * clear are found by their form, secrets are added by test/support/service-process.ts).
 */
export default function setup(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'clinical-ai-log-capture-'));
  process.env[LOG_CAPTURE_ENV] = dir;
  const patients = [
    SYNTHETIC_PATIENT,
    // The bundled sample study as it is (test/fixtures/sample-mr/README.md) and the e2e tests' synthetic series.
    { name: 'CLINICAL-AI^DEMO', id: 'DEMO-0001', birthDate: '19700101' },
    { name: 'RESTART^TEST', id: 'RST-1', birthDate: '19700101' },
  ];
  for (const p of patients) for (const f of patientForms(p)) forbidInLogs(f.kind, f.value);
  forbidInLogs('patient name', 'Outage^Synthetic');
}
