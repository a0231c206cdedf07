import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { AppError } from '../domain/errors';

/** http.tls (config/config.schema.json): inbound HTTPS and client certificates. */
export interface HttpTlsConfig {
  certFile: string;
  keyFile: string;
  caFile: string;
  clientCertificates: 'none' | 'optional' | 'required';
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** Cross-key checks of http.tls and auth.clientCertificates the schema cannot express; each names its key. */
export function tlsConfigProblems(http: unknown, auth: unknown): string[] {
  const tls = (http as { tls?: Partial<HttpTlsConfig> } | undefined)?.tls;
  const mapped = (auth as { clientCertificates?: unknown } | undefined)?.clientCertificates;
  const problems: string[] = [];
  if (!tls) return problems;
  const on = typeof tls.certFile === 'string' && tls.certFile !== '';
  if (on && !tls.keyFile) problems.push('http.tls.keyFile: required with http.tls.certFile');
  if (!on && tls.keyFile) problems.push('http.tls.certFile: required with http.tls.keyFile');
  const asking = tls.clientCertificates === 'optional' || tls.clientCertificates === 'required';
  if (asking && !on) problems.push(`http.tls.clientCertificates: "${String(tls.clientCertificates)}" needs HTTPS (http.tls.certFile and keyFile)`);
  if (asking && !tls.caFile) problems.push(`http.tls.caFile: required with http.tls.clientCertificates "${String(tls.clientCertificates)}" (the CAs client certificates must chain to)`);
  if (Array.isArray(mapped) && mapped.length > 0 && !asking) {
    problems.push('auth.clientCertificates: client certificates are never asked for; set http.tls.clientCertificates to "optional" or "required"');
  }
  return problems;
}

function read(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AppError('CONFIG_INVALID', `${key}: cannot read ${file} (${code})`);
  }
}

/**
 * The options of node:https createServer from http.tls, or undefined for plain HTTP. Client certificates are
 * requested unless 'none'; with 'optional' an unverified one still completes the handshake so the request can be
 * answered 401 with a reason (the authenticator looks at socket.authorized); with 'required' the handshake fails.
 */
export function httpsServerOptions(tls: HttpTlsConfig): ServerOptions | undefined {
  if (!tls.certFile) return undefined;
  const asking = tls.clientCertificates !== 'none';
  return {
    cert: read('http.tls.certFile', tls.certFile),
    key: read('http.tls.keyFile', tls.keyFile),
    minVersion: tls.minVersion,
    // Client CAs only: clients are trusted when they chain to the configured bundle, never to the system CAs.
    ...(asking ? { ca: read('http.tls.caFile', tls.caFile), requestCert: true, rejectUnauthorized: tls.clientCertificates === 'required' } : {}),
  };
}
