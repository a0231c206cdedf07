/** Exponential backoff with a cap and ±20 % jitter, so retries of many jobs do not arrive together. */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  const jitter = 1 + (random() * 0.4 - 0.2);
  return Math.min(maxMs, Math.round(base * jitter));
}
