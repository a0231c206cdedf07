import type { Dependency } from './domain/job';
import { stripUrlCredentials } from './domain/redact-url';

/** Outbound credentials and TLS of one target (config key outbound.pacs / outbound.fhir; docs/outbound-auth.md). */
export interface OutboundTargetConfig {
  auth: {
    type: 'none' | 'basic' | 'bearer' | 'client-credentials' | 'private-key-jwt';
    username: string;
    password: string;
    passwordFile: string;
    token: string;
    tokenFile: string;
    tokenUrl: string;
    issuer: string;
    clientId: string;
    clientSecret: string;
    clientSecretFile: string;
    tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
    privateKeyFile: string;
    keyId: string;
    algorithm: 'RS384' | 'ES384';
    scope: string;
    resource: string;
    timeoutMs: number;
  };
  tls: { caFile: string; certFile: string; keyFile: string };
}

export type OutboundConfig = Record<Dependency, OutboundTargetConfig>;

/** Keys under outbound.<target>.auth that hold a secret: environment only, never the config file, masked everywhere. */
export const OUTBOUND_SECRET_KEYS = ['password', 'token', 'clientSecret'] as const;

type Loose = Record<string, unknown> | undefined;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * What the schema cannot say about outbound.* (each problem names its key): a secret written in the config file,
 * the fields each auth type needs, a legacy key set together with the new block, a certificate without its key.
 * `merged` is the config after defaults/file/env; `fromFile` is what the config file alone said.
 */
export function outboundConfigProblems(merged: Record<string, unknown>, fromFile: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const outbound = merged.outbound as Record<string, Loose> | undefined;
  const fileOutbound = fromFile.outbound as Record<string, Loose> | undefined;
  for (const target of ['pacs', 'fhir'] as const) {
    const key = `outbound.${target}`;
    const auth = (outbound?.[target]?.auth ?? {}) as Record<string, unknown>;
    const tls = (outbound?.[target]?.tls ?? {}) as Record<string, unknown>;
    const fileAuth = (fileOutbound?.[target]?.auth ?? {}) as Record<string, unknown>;
    for (const secret of OUTBOUND_SECRET_KEYS) {
      if (str(fileAuth[secret])) {
        const env = `CLINICAL_AI_OUTBOUND_${target.toUpperCase()}_AUTH_${secret.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
        problems.push(`${key}.auth.${secret}: a secret may not be written in the config file; set ${env} or ${key}.auth.${secret}File`);
      }
    }
    const type = str(auth.type) || 'none';
    const need = (field: string, why: string): void => {
      if (!str(auth[field])) problems.push(`${key}.auth.${field}: required for auth type '${type}' (${why})`);
    };
    const oneOf = (a: string, b: string, why: string): void => {
      if (!str(auth[a]) && !str(auth[b])) problems.push(`${key}.auth.${a}: required for auth type '${type}' (${why}); or set ${key}.auth.${b}`);
    };
    if (type === 'basic') {
      need('username', 'the Basic user');
      oneOf('passwordFile', 'password', 'the Basic password');
    } else if (type === 'bearer') {
      oneOf('tokenFile', 'token', 'the static bearer token');
    } else if (type === 'client-credentials' || type === 'private-key-jwt') {
      need('clientId', 'the OAuth2 client_id');
      oneOf('tokenUrl', 'issuer', 'where tokens come from');
      if (type === 'client-credentials') oneOf('clientSecretFile', 'clientSecret', 'the client secret');
      else need('privateKeyFile', 'the key that signs the client assertion');
    }
    if (Boolean(str(tls.certFile)) !== Boolean(str(tls.keyFile))) {
      problems.push(`${key}.tls.${str(tls.certFile) ? 'keyFile' : 'certFile'}: required together with ${key}.tls.${str(tls.certFile) ? 'certFile' : 'keyFile'} (mTLS needs both)`);
    }
    const legacy = target === 'pacs' ? ['pacsUsername', 'pacsPassword'] : ['fhirToken'];
    const legacySet = legacy.filter((k) => str(merged[k]));
    if (type !== 'none' && legacySet.length > 0) problems.push(`${legacySet[0]}: set together with ${key}.auth; use one of them (${key}.auth is the newer)`);
  }
  const pacs = str(merged.pacs);
  if (stripUrlCredentials(pacs) !== pacs && (str(merged.pacsUsername) || str((outbound?.pacs?.auth as Loose)?.type) !== 'none')) {
    problems.push('pacs: the URL carries credentials (user:password@) and other PACS credentials are set; keep only one');
  }
  return problems;
}

/** outbound.* with every secret masked (`***` when set). */
export function redactOutbound(outbound: OutboundConfig | undefined): OutboundConfig | undefined {
  if (!outbound) return outbound;
  const mask = (s: string): string => (s ? '***' : '');
  const one = (t: OutboundTargetConfig): OutboundTargetConfig => ({ ...t, auth: { ...t.auth, password: mask(t.auth.password), token: mask(t.auth.token), clientSecret: mask(t.auth.clientSecret) } });
  return { pacs: one(outbound.pacs), fhir: one(outbound.fhir) };
}
