import type { Config } from '../../config';
import type { Logger } from '../../logging';
import { apiKeyAuthenticator } from './api-keys';
import type { HttpAuth } from './authenticate';
import { oidcAuthenticator } from './oidc';
import type { Authenticator } from './types';

/** Cross-key checks of auth.* that the schema cannot express; each names its key. */
export function authConfigProblems(auth: unknown): string[] {
  const a = auth as { oidc?: { issuer?: unknown; audience?: unknown }; apiKeys?: unknown } | undefined;
  const problems: string[] = [];
  if (typeof a?.oidc?.issuer === 'string' && a.oidc.issuer !== '' && !a.oidc.audience) {
    problems.push('auth.oidc.audience: required with auth.oidc.issuer (the aud value tokens for this service carry)');
  }
  if (Array.isArray(a?.apiKeys)) {
    const keys = a.apiKeys as { id?: unknown; sha256?: unknown }[];
    const dup = (field: 'id' | 'sha256'): unknown[] => keys.map((k) => k[field]).filter((v, i, all) => all.indexOf(v) !== i);
    for (const id of new Set(dup('id'))) problems.push(`auth.apiKeys: the id "${String(id)}" is used twice`);
    if (dup('sha256').length > 0) problems.push('auth.apiKeys: the same key digest is configured twice');
  }
  return problems;
}

/** Whether any way to authenticate is configured (then requests without credentials are refused). */
export function authConfigured(config: Pick<Config, 'auth'>, clientCertificates = false): boolean {
  return config.auth.oidc.issuer !== '' || config.auth.apiKeys.length > 0 || clientCertificates;
}

/**
 * The HTTP authentication of `serve`, from config: the service's own credential first, then API keys, OIDC, and
 * any extra authenticators (client certificates). Requests without credentials are anonymous only without
 * configured authentication (the server then binds to loopback, see bind-policy.ts) or with http.allowAnonymous.
 */
export function httpAuthFromConfig(config: Pick<Config, 'auth' | 'http'>, logger: Logger, extra: { first?: Authenticator[]; clientCertificate?: Authenticator } = {}): HttpAuth {
  const { oidc, apiKeys } = config.auth;
  const authenticators: Authenticator[] = [...(extra.first ?? [])];
  if (apiKeys.length > 0) authenticators.push(apiKeyAuthenticator(apiKeys));
  if (oidc.issuer) authenticators.push(oidcAuthenticator(oidc, logger));
  if (extra.clientCertificate) authenticators.push(extra.clientCertificate);
  const anonymous = config.http.allowAnonymous || !authConfigured(config, extra.clientCertificate !== undefined);
  return { authenticators, ...(anonymous ? { anonymousRoles: config.auth.anonymousRoles } : {}), failedAttemptsPerMinute: config.auth.failedAttemptsPerMinute };
}
