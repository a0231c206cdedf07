import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../../domain/errors';
import { ROLES, type Role } from '../../domain/principal';
import type { Logger } from '../../logging';
import { API_KEY_PREFIX } from './api-keys';
import { bearerToken, clientAddress, type Authenticator } from './types';

/** Asymmetric algorithms only: "none" and HS* (shared secrets, the HS/RS confusion) can never be allowed. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** Empty: from the issuer's discovery document. */
  jwksUri?: string;
  algorithms: readonly string[];
  clockToleranceSeconds: number;
  /** Dot path of the roles claim, e.g. "roles" or "realm_access.roles". */
  rolesClaim: string;
  /** Claim value -> our roles; empty or absent: values equal to a role name map to that role. */
  roleMap?: Record<string, Role[]>;
  /** Least time between two JWKS fetches for an unknown kid (key rotation), so forged kids cannot hammer the issuer. */
  jwksCooldownSeconds: number;
}

/** The roles a verified token carries: the claim may be an array or a space-separated string (as `scope`). */
export function rolesFromClaims(payload: JWTPayload, rolesClaim: string, roleMap?: Record<string, Role[]>): Role[] {
  let value: unknown = payload;
  for (const part of rolesClaim.split('.')) value = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined;
  const values = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const mapped = roleMap && Object.keys(roleMap).length > 0 ? values.flatMap((v) => (Object.hasOwn(roleMap, v) ? (roleMap[v] ?? []) : [])) : values.filter((v): v is Role => (ROLES as readonly string[]).includes(v));
  return [...new Set(mapped)];
}

/** A jose failure as a reason the caller may read: what is wrong, never the token. */
function refusal(err: unknown): string | undefined {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the token's "${err.claim}" claim is not accepted (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not allowed';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'the token is not signed by a key of the configured issuer';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return undefined;
  if (err instanceof joseErrors.JOSEError) return 'the bearer token is not a valid signed JWT';
  return undefined;
}

/**
 * Bearer JWTs from an OpenID Connect / OAuth2 issuer, verified by jose against the issuer's JWKS: keys are cached
 * and fetched again for an unknown kid (key rotation, at most once per cooldown); iss, aud, exp (required) and nbf
 * with bounded clock skew, and the algorithm allowlist. The JWKS comes from discovery unless configured.
 */
export function oidcAuthenticator(settings: OidcSettings, logger: Logger): Authenticator {
  const issuer = settings.issuer;
  const algorithms = settings.algorithms.filter((a) => (OIDC_ALGORITHMS as readonly string[]).includes(a));
  let keys: JWTVerifyGetKey | undefined;
  let discovering: Promise<JWTVerifyGetKey> | undefined;

  const jwksFor = (uri: string): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(uri), { cooldownDuration: settings.jwksCooldownSeconds * 1000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5000 });

  const discover = async (): Promise<JWTVerifyGetKey> => {
    if (settings.jwksUri) return jwksFor(settings.jwksUri);
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (doc.issuer !== issuer) throw new Error(`discovery names issuer ${String(doc.issuer)}, not the configured one`);
    if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) throw new Error('discovery has no http(s) jwks_uri');
    return jwksFor(doc.jwks_uri);
  };

  const getKeys = async (): Promise<JWTVerifyGetKey> => {
    if (keys) return keys;
    discovering ??= discover().finally(() => (discovering = undefined));
    keys = await discovering;
    return keys;
  };

  return async (req) => {
    const token = bearerToken(req);
    if (token === undefined || token.startsWith(API_KEY_PREFIX) || token.startsWith('cai-svc_')) return undefined;
    let payload: JWTPayload;
    try {
      const jwks = await getKeys();
      ({ payload } = await jwtVerify(token, jwks, { issuer, audience: settings.audience, algorithms, clockTolerance: settings.clockToleranceSeconds, requiredClaims: ['exp'] }));
    } catch (err) {
      const reason = refusal(err);
      if (reason) return { refused: reason };
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot check a bearer token: the identity provider (discovery or JWKS) did not answer');
      throw new AppError('AUTH_UNAVAILABLE', 'the token cannot be checked now: the identity provider does not answer; try again later');
    }
    const subject = [payload.sub, payload['client_id'], payload['azp']].find((v): v is string => typeof v === 'string' && v !== '') ?? 'unknown';
    return { principal: { kind: 'oidc', subject, issuer, roles: rolesFromClaims(payload, settings.rolesClaim, settings.roleMap), clientAddress: clientAddress(req) } };
  };
}
