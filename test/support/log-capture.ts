/**
 * The e2e log proof (issue #11): every line the service processes print during a jest run is appended to a capture
 * folder (set up by test/support/log-capture-setup.ts as jest's globalSetup), together with the values that must
 * never appear in them: the synthetic patient's name, ID and birth date, the configured secrets, and the UIDs of
 * the studies sent. test/support/log-capture-teardown.ts (globalTeardown) reads every captured line at the end of
 * the run and fails the run on any occurrence.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Set by the globalSetup; inherited by jest's workers and by nothing else. */
export const LOG_CAPTURE_ENV = 'CLINICAL_AI_TEST_LOG_CAPTURE_DIR';

/** The patient every sample study copy carries (test/support/sample-study.ts): synthetic, and distinctive to search for. */
export const SYNTHETIC_PATIENT = { name: 'LEAKCHECK^SYNTHETIA', id: 'SYN-LOG-40417', birthDate: '19230417' } as const;

const FORBIDDEN_FILE = 'forbidden.jsonl';

export interface Forbidden {
  kind: string;
  value: string;
}

function captureDir(): string | undefined {
  const dir = process.env[LOG_CAPTURE_ENV];
  return dir && existsSync(dir) ? dir : undefined;
}

/** Records values that must appear in no captured log line (no-op outside a capturing jest run). */
export function forbidInLogs(kind: string, ...values: (string | undefined)[]): void {
  const dir = captureDir();
  if (!dir) return;
  const lines = values.filter((v): v is string => typeof v === 'string' && v.length >= 4).map((value) => JSON.stringify({ kind, value }));
  if (lines.length > 0) appendFileSync(path.join(dir, FORBIDDEN_FILE), `${lines.join('\n')}\n`);
}

/** A sink for one service process's output lines; undefined outside a capturing jest run. */
export function openLogCapture(label: string): ((lines: string[]) => void) | undefined {
  const dir = captureDir();
  if (!dir) return undefined;
  // jest gives every test file fresh modules, so a counter would repeat: name each capture uniquely instead.
  const file = path.join(dir, `${process.pid}-${Date.now()}-${randomUUID().slice(0, 8)}-${label.replace(/[^a-z0-9-]/gi, '_')}.log`);
  return (lines) => {
    if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
  };
}

/** Every value a secret-bearing CLINICAL_AI_* variable holds (passwords, tokens, client secrets, API keys). */
export function secretsOfEnv(env: Record<string, string>): Forbidden[] {
  const out: Forbidden[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!/^CLINICAL_AI_/.test(name) || !/(PASSWORD|TOKEN|SECRET|API_KEY)/.test(name) || /_FILE$/.test(name)) continue;
    if (name.endsWith('API_KEYS')) {
      // A JSON list: only the key hashes are secret-like (the keys themselves are registered by the tests that hold them).
      for (const m of value.matchAll(/"sha256"\s*:\s*"([0-9a-f]{64})"/g)) if (m[1]) out.push({ kind: `${name} sha256`, value: m[1] });
    } else if (value.length >= 4) out.push({ kind: name, value });
  }
  const user = env.CLINICAL_AI_PACS_USERNAME;
  const password = env.CLINICAL_AI_PACS_PASSWORD;
  if (user && password) out.push({ kind: 'PACS Basic authorization', value: Buffer.from(`${user}:${password}`).toString('base64') });
  return out;
}

/** The synthetic identities of the e2e studies, in the forms logs could carry them (DICOM and FHIR spellings). */
export function patientForms(patient: { name: string; id: string; birthDate: string }): Forbidden[] {
  const [family = '', given = ''] = patient.name.split('^');
  const iso = `${patient.birthDate.slice(0, 4)}-${patient.birthDate.slice(4, 6)}-${patient.birthDate.slice(6, 8)}`;
  return [
    { kind: 'patient name', value: patient.name },
    { kind: 'patient family name', value: family },
    ...(given ? [{ kind: 'patient given name', value: given }] : []),
    { kind: 'patient id', value: patient.id },
    { kind: 'patient birth date', value: patient.birthDate },
    { kind: 'patient birth date', value: iso },
  ].filter((f) => f.value.length >= 4);
}

export interface Leak {
  file: string;
  line: number;
  kind: string;
  /** The line with the leaked value masked, so the report itself leaks nothing. */
  excerpt: string;
}

/** DICOM UIDs outside the standard's own root (transfer syntaxes, SOP classes): those identify studies. */
const UID = /(?<![0-9.])[12](?:\.(?:0|[1-9][0-9]*)){3,}(?![0-9.])/g;
const STANDARD_UID_ROOT = '1.2.840.10008.';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds every forbidden value, and every UID in clear, in the given lines. */
export function findLeaks(files: { file: string; lines: string[] }[], forbidden: Forbidden[], allowedUids: ReadonlySet<string> = new Set()): Leak[] {
  const unique = [...new Map(forbidden.map((f) => [f.value, f])).values()];
  // Digits-only values (dates, numeric IDs) must not match inside longer numbers (epoch milliseconds, byte counts).
  const patterns = unique.map((f) => ({ kind: f.kind, re: new RegExp(/^[0-9]+$/.test(f.value) ? `(?<![0-9])${escapeRegExp(f.value)}(?![0-9])` : escapeRegExp(f.value), 'g') }));
  const leaks: Leak[] = [];
  for (const { file, lines } of files) {
    lines.forEach((text, i) => {
      let excerpt = text;
      const kinds: string[] = [];
      for (const p of patterns) {
        if (!p.re.test(excerpt)) continue;
        p.re.lastIndex = 0;
        kinds.push(p.kind);
        excerpt = excerpt.replace(p.re, `<${p.kind}>`);
      }
      for (const m of text.matchAll(UID)) {
        if (m[0].startsWith(STANDARD_UID_ROOT) || allowedUids.has(m[0])) continue;
        kinds.push('UID in clear');
        excerpt = excerpt.split(m[0]).join('<UID>');
      }
      for (const kind of new Set(kinds)) leaks.push({ file, line: i + 1, kind, excerpt: excerpt.slice(0, 300) });
    });
  }
  return leaks;
}

/** Reads a capture folder: the captured lines of every service process and the forbidden values recorded. */
export function readCapture(dir: string): { files: { file: string; lines: string[] }[]; forbidden: Forbidden[] } {
  const files: { file: string; lines: string[] }[] = [];
  let forbidden: Forbidden[] = [];
  for (const name of readdirSync(dir).sort()) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    if (name === FORBIDDEN_FILE) forbidden = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Forbidden);
    else if (name.endsWith('.log')) files.push({ file: name, lines: text.split('\n').filter(Boolean) });
  }
  return { files, forbidden };
}
