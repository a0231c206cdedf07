import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { AppError } from './domain/errors';
import type { Role } from './domain/principal';
import { authConfigProblems } from './http/auth/settings';
import { tlsConfigProblems } from './http/tls';
import { routeRulesProblems, type RouteRule } from './routing/route-rules';
import { stripUrlCredentials } from './domain/redact-url';
import { outboundConfigProblems, redactOutbound, type OutboundConfig } from './outbound-config';

/** The typed configuration; config/config.schema.json is the source of truth for keys, defaults and meaning. */
export interface Config {
  pacs: string;
  pacsUsername: string;
  pacsPassword: string;
  pacsDicomWebPath: string;
  pacsTranscode: boolean;
  fhir: string;
  fhirToken: string;
  dataDir: string;
  modelsDir: string;
  inboxDir: string;
  inboxQuietMs: number;
  http: {
    host: string;
    port: number;
    publicBaseUrl: string;
    allowAnonymous: boolean;
    /** Inbound HTTPS and client certificates (src/http/tls.ts, docs/tls.md). */
    tls: { certFile: string; keyFile: string; caFile: string; clientCertificates: 'none' | 'optional' | 'required'; minVersion: 'TLSv1.2' | 'TLSv1.3' };
  };
  workers: {
    concurrency: number;
    inferenceThreads: number;
    maxAttempts: number;
    backoffInitialMs: number;
    backoffMaxMs: number;
    pollIntervalMs: number;
    maxInterruptions: number;
    checkpointMaxBytes: number;
  };
  /** Outages of the PACS and FHIR server (docs/reliability.md). */
  outage: { probeInitialMs: number; probeMaxMs: number; probeTimeoutMs: number; maxAgeMs: number };
  /** When a study is complete enough to route (src/domain/settling.ts). */
  completion: { quietMs: number; gapFactor: number; windowMs: number; checkIntervalMs: number; interimReports: boolean };
  /** Who may call the HTTP API (src/http/auth, docs/http-api.md#access-control). */
  auth: {
    oidc: { issuer: string; audience: string; jwksUri: string; algorithms: string[]; clockToleranceSeconds: number; rolesClaim: string; roleMap: Record<string, Role[]>; jwksCooldownSeconds: number };
    apiKeys: { id: string; sha256: string; roles: Role[] }[];
    /** Client certificates that authenticate (src/http/auth/client-certificate.ts). */
    clientCertificates: { subject?: string; sha256?: string; roles: Role[] }[];
    anonymousRoles: Role[];
    failedAttemptsPerMinute: number;
  };
  /** Model execution; see config.schema.json. */
  inference: { device: 'cpu' | 'cuda' };
  orthanc: { pollIntervalMs: number; fromStart: boolean; reconcileSchedule: string; reconcileMarginMs: number; reconcilePageSize: number };
  /** QIDO-RS polling intake for pacs = dicomweb:…; see config.schema.json. */
  dicomweb: { pollSchedule: string; settleMs: number; lookbackDays: number; pageSize: number; maxTracked: number; fromStart: boolean };
  results: {
    reportStatus: 'preliminary' | 'final';
    clinicalUseNotice: string;
    segSeriesNumber: number;
    manufacturer: string;
    deviceSerialNumber: string;
  };
  limits: { maxInstanceBytes: number; maxVoxels: number; parserProcesses: number; parserMemoryMb: number; parseTimeoutMs: number };
  /** Push intakes (docs/push-intake.md). */
  push: { receivedDir: string; quietMs: number; pollIntervalMs: number; cleanup: { deleteOnSuccess: boolean; keepFailedHours: number } };
  stow: { enabled: boolean; maxBodyBytes: number };
  dimse: {
    enabled: boolean;
    host: string;
    port: number;
    aeTitle: string;
    /** Calling AEs and the addresses each may call from (adapters/push/dimse-peers.ts). */
    peers: { aeTitle: string; hosts: string[] }[];
    allowedCallingAeTitles: string[];
    allowAnyCaller: boolean;
    transferSyntaxes: string[];
  };
  /** Free-space watermarks of the data and received dirs (adapters/storage/storage-monitor.ts). */
  storage: { minFreeBytes: number; resumeFreeBytes: number; checkIntervalMs: number };
  /** Outbound credentials and TLS per target (src/outbound-config.ts, docs/outbound-auth.md). */
  outbound: OutboundConfig;
  /** The audit trail (docs/audit.md). */
  audit: { enabled: boolean; file: boolean; fhir: boolean; dir: string; maxQueued: number; retryInitialMs: number; retryMaxMs: number };
  logLevel: string;
  /** Route rules over the models' selections (docs/routing.md). */
  routes: RouteRule[];
}

export const ENV_PREFIX = 'CLINICAL_AI_';

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
}

export function loadSchema(): SchemaNode & Record<string, unknown> {
  // The schema ships beside the compiled code's package root (config/), two levels up from dist/src or src.
  const candidates = [path.join(__dirname, '..', 'config', 'config.schema.json'), path.join(__dirname, '..', '..', 'config', 'config.schema.json')];
  for (const file of candidates) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as SchemaNode & Record<string, unknown>;
    } catch {
      /* try the next location */
    }
  }
  throw new AppError('CONFIG_INVALID', 'config/config.schema.json not found next to the program');
}

function envName(keyPath: string[]): string {
  return ENV_PREFIX + keyPath.map((k) => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Reads CLINICAL_AI_* variables for every leaf key of the schema, coercing to the schema's type. */
function fromEnv(schema: SchemaNode, env: NodeJS.ProcessEnv, keyPath: string[], errors: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    const p = [...keyPath, key];
    if (node.type === 'object') {
      const nested = fromEnv(node, env, p, errors);
      if (Object.keys(nested).length > 0) out[key] = nested;
      continue;
    }
    const name = envName(p);
    const raw = env[name];
    if (raw === undefined) continue;
    if (node.type === 'integer' || node.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) errors.push(`${name}: expected a number, got "${raw}"`);
      else out[key] = n;
    } else if (node.type === 'array') {
      try {
        out[key] = JSON.parse(raw) as unknown;
      } catch {
        errors.push(`${name}: expected a JSON array`);
      }
    } else if (node.type === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(raw.toLowerCase())) errors.push(`${name}: expected true or false, got "${raw}"`);
      else out[key] = raw === 'true' || raw === '1';
    } else {
      out[key] = raw;
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence (CLI flags, tests). */
  overrides?: Record<string, unknown>;
  /** Relative paths in the config resolve against this (default: cwd). */
  baseDir?: string;
}

/**
 * Builds the configuration: schema defaults < file < environment < overrides. Every problem is collected and
 * reported together in one CONFIG_INVALID error, so an operator fixes all of them in one go.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const errors: string[] = [];
  const schema = loadSchema();
  let fileValues: Record<string, unknown> = {};
  const file = options.file ?? env[`${ENV_PREFIX}CONFIG`];
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!isObject(parsed)) errors.push(`${file}: the config file must contain a JSON object`);
      else fileValues = parsed;
    } catch (err) {
      errors.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const envValues = fromEnv(schema, env, [], errors);
  const merged = deepMerge(deepMerge(fileValues, envValues), options.overrides ?? {});
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  const validate = ajv.compile(schema);
  if (!validate(merged)) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
      const extra = e.keyword === 'additionalProperties' ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}"` : '';
      errors.push(`${where}: ${e.message ?? 'invalid'}${extra}`);
    }
  }
  // The schema says only "a list of objects"; the routing language checks each rule with its path.
  if (Array.isArray(merged.routes)) errors.push(...routeRulesProblems(merged.routes));
  // An issuer without audience, or two API keys with one id or digest: the schema cannot say so.
  errors.push(...authConfigProblems(merged.auth));
  // HTTPS key without certificate, client certificates without a CA bundle or without HTTPS (src/http/tls.ts).
  errors.push(...tlsConfigProblems(merged.http, merged.auth));
  // Secrets in the config file, fields each outbound auth type needs, legacy keys set twice.
  errors.push(...outboundConfigProblems(merged, fileValues));
  // Hysteresis needs resume ≥ min; the schema cannot compare two keys.
  const storage = merged.storage as { minFreeBytes?: unknown; resumeFreeBytes?: unknown } | undefined;
  if (typeof storage?.minFreeBytes === 'number' && typeof storage.resumeFreeBytes === 'number' && storage.resumeFreeBytes < storage.minFreeBytes) {
    errors.push(`storage.resumeFreeBytes: must be at least storage.minFreeBytes (${storage.resumeFreeBytes} < ${storage.minFreeBytes}): intake resumes only above the level where it stops`);
  }
  if (errors.length > 0) {
    throw new AppError('CONFIG_INVALID', `invalid configuration:\n  - ${errors.join('\n  - ')}`, { details: { errors } });
  }
  const config = merged as unknown as Config;
  const baseDir = options.baseDir ?? process.cwd();
  config.dataDir = path.resolve(baseDir, config.dataDir);
  config.modelsDir = path.resolve(baseDir, config.modelsDir);
  config.inboxDir = config.inboxDir ? path.resolve(baseDir, config.inboxDir) : path.join(config.dataDir, 'inbox');
  config.push.receivedDir = config.push.receivedDir ? path.resolve(baseDir, config.push.receivedDir) : path.join(config.dataDir, 'received');
  config.audit.dir = config.audit.dir ? path.resolve(baseDir, config.audit.dir) : path.join(config.dataDir, 'audit');
  return config;
}

/** The config with secrets masked, for logs and the /config endpoint. */
export function redactConfig(config: Config): Config {
  const mask = (s: string): string => (s ? '***' : '');
  // URLs lose any user:password@; outbound secrets are masked (src/outbound-config.ts).
  return { ...config, pacs: stripUrlCredentials(config.pacs), fhir: stripUrlCredentials(config.fhir), outbound: redactOutbound(config.outbound) as OutboundConfig, pacsPassword: mask(config.pacsPassword), fhirToken: mask(config.fhirToken), auth: { ...config.auth, apiKeys: config.auth.apiKeys.map((k) => ({ ...k, sha256: mask(k.sha256) })) } };
}
