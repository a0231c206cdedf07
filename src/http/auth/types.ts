import type { Request } from 'express';
import type { Principal } from '../../domain/principal';

/**
 * What one authenticator made of a request: a principal, a refusal (credentials of its kind were presented and are
 * not valid: 401 at once, never a fall-back to anonymous), or undefined (no credential of its kind: ask the next one).
 */
export type AuthOutcome = { principal: Principal } | { refused: string } | undefined;

/** One way to authenticate (service credential, API key, OIDC bearer token, client certificate), tried in order. */
export type Authenticator = (req: Request) => AuthOutcome | Promise<AuthOutcome>;

/** The remote address as this process sees it (no proxy header is trusted). */
export function clientAddress(req: Request): string {
  const raw = req.socket.remoteAddress ?? 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

/** The bearer token of `Authorization: Bearer <token>`, undefined without one. */
export function bearerToken(req: Request): string | undefined {
  const m = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Whether the request carries any credential header, valid or not (a bad one is refused, not treated as anonymous). */
export function presentsCredentials(req: Request): boolean {
  return req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined;
}
