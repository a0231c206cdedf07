import { createHash } from 'node:crypto';

/**
 * Deterministic identity. A job's idempotency key names exactly what was computed (study, instance set, model and
 * its file digest); every identifier we write (SEG UIDs, FHIR identifiers) derives from it, so a retry or a
 * duplicate event replaces instead of duplicating.
 */
export function idempotencyKey(input: {
  studyInstanceUid: string;
  instanceUids: readonly string[];
  modelId: string;
  modelDigest: string;
}): string {
  const instances = [...input.instanceUids].sort().join('\\');
  const h = createHash('sha256');
  h.update(`study=${input.studyInstanceUid}\n`);
  h.update(`instances=${createHash('sha256').update(instances).digest('hex')}\n`);
  h.update(`model=${input.modelId}\n`);
  h.update(`digest=${input.modelDigest}\n`);
  return h.digest('hex');
}

/**
 * A DICOM UID under the 2.25 root (ISO/IEC 9834-8): "2.25." + the decimal value of a 128-bit UUID.
 * Built like a name-based (v5-style) UUID from the key and a purpose, so the same key always gives the same UID.
 */
export function deterministicUid(key: string, purpose: string): string {
  const bytes = createHash('sha256').update(`${purpose}:${key}`).digest().subarray(0, 16);
  // Set version (5) and variant (RFC 4122) bits as a UUIDv5 would.
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const value = BigInt(`0x${bytes.toString('hex')}`);
  return `2.25.${value.toString(10)}`;
}

/** Short, non-reversible handle for a UID or id, safe for logs. */
export function logHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}
