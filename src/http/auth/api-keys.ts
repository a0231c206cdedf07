import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Role } from '../../domain/principal';
import { bearerToken, clientAddress, type Authenticator } from './types';

/** API keys start with this prefix, so they are told from JWTs and found by secret scanners. */
export const API_KEY_PREFIX = 'cai_';

export interface ApiKeyEntry {
  id: string;
  /** Hex SHA-256 digest of the key; the key itself is never stored. */
  sha256: string;
  roles: Role[];
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A new key: 32 random bytes (256 bits), so a plain SHA-256 digest is enough (no password stretching needed). */
export function generateApiKey(): { key: string; sha256: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256Hex(key) };
}

/** The API key of a request: `Authorization: Bearer cai_…` or `X-API-Key: cai_…`. */
export function presentedApiKey(req: Request): string | undefined {
  const bearer = bearerToken(req);
  if (bearer?.startsWith(API_KEY_PREFIX)) return bearer;
  const header = req.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/**
 * API keys from auth.apiKeys. The presented key's digest is compared with every configured digest in constant time
 * (no early exit), so timing tells neither which key nor how much of one matched.
 */
export function apiKeyAuthenticator(entries: readonly ApiKeyEntry[]): Authenticator {
  const known = entries.map((e) => ({ ...e, digest: Buffer.from(e.sha256, 'hex') }));
  return (req) => {
    const key = presentedApiKey(req);
    if (key === undefined) return undefined;
    const digest = createHash('sha256').update(key, 'utf8').digest();
    let match: (typeof known)[number] | undefined;
    for (const k of known) if (timingSafeEqual(digest, k.digest) && !match) match = k;
    if (!match) return { refused: 'the API key is not known' };
    return { principal: { kind: 'api-key', subject: match.id, roles: match.roles, clientAddress: clientAddress(req) } };
  };
}
