import type { Job } from '../domain/job';

/** What an operator can do about failed jobs with one error code. */
const ACTIONS: Record<string, string> = {
  PACS_UNAVAILABLE: 'the PACS did not answer for too long or too often: once it is back, retry them (clinical-ai jobs retry --code PACS_UNAVAILABLE)',
  FHIR_UNAVAILABLE: 'the FHIR server did not answer for too long or too often: once it is back, retry them (clinical-ai jobs retry --code FHIR_UNAVAILABLE)',
  FHIR_REJECTED: 'the FHIR server refused the result: read the message (validation, credentials, permissions), fix the server side, then retry',
  PACS_REJECTED: 'the PACS refused a request (credentials, a STOW failure): read the message, fix it, then retry',
  INTERRUPTED: 'the service stopped several times while running these jobs: look at the study (it may crash the decoder) before retrying',
  MODEL_INVALID: 'the model is missing or changed since routing: a re-delivery of the study routes it to the current model',
  BAD_DICOM: 'the study cannot be read: fix or re-send it; retrying the same data fails again',
  GEOMETRY: 'the series geometry is not one the model can use: nothing to retry',
  STORAGE_FULL: 'the data disk was full: free space, then retry',
};

export interface DeadLetterGroup {
  code: string;
  /** Whether the last failure said a retry can help. */
  retryable: boolean;
  count: number;
  oldest: string;
  newest: string;
  action: string;
}

export interface DeadLetterView {
  total: number;
  groups: DeadLetterGroup[];
}

/** Failed jobs grouped by what went wrong, most frequent first, each with what a person can do about it. */
export function deadLetter(failed: readonly Job[]): DeadLetterView {
  const groups = new Map<string, DeadLetterGroup>();
  for (const job of failed) {
    const code = job.lastError?.code ?? 'UNKNOWN';
    const retryable = job.lastError?.retryable ?? false;
    const key = `${code}|${retryable}`;
    const g = groups.get(key) ?? { code, retryable, count: 0, oldest: job.updatedAt, newest: job.updatedAt, action: ACTIONS[code] ?? (retryable ? 'a retry may help once the cause is gone' : 'read the message; retry once the cause is fixed') };
    g.count += 1;
    if (job.updatedAt < g.oldest) g.oldest = job.updatedAt;
    if (job.updatedAt > g.newest) g.newest = job.updatedAt;
    groups.set(key, g);
  }
  return { total: failed.length, groups: [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)) };
}
