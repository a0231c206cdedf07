import { TLSSocket } from 'node:tls';
import type { Request } from 'express';
import type { Principal, Role } from '../../domain/principal';
import { clientAddress, type Authenticator } from './types';

/** One auth.clientCertificates entry: a certificate named by subject (CN or DN) or by SHA-256 fingerprint. */
export interface ClientCertificateMapping {
  subject?: string;
  sha256?: string;
  roles: readonly Role[];
}

type Rdn = [string, string];

/** "C=NL\nO=Hospital\nCN=x" (node's X509Certificate.subject) as attribute pairs, in certificate order. */
function parseNodeSubject(subject: string): Rdn[] {
  return subject
    .split('\n')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim()];
    });
}

/**
 * A configured DN: "/C=NL/O=Hospital/CN=x" (openssl -subject, oneline) or "CN=x, O=Hospital, C=NL" (RFC 4514, or
 * openssl's default "C = NL, O = Hospital, CN = x"). Backslash escapes (\, \/ \+) are honoured.
 */
function parseConfiguredDn(dn: string): Rdn[] {
  const slashed = dn.trim().startsWith('/');
  const text = slashed ? dn.trim().slice(1) : dn;
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      continue;
    }
    if (c === (slashed ? '/' : ',')) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts.map((part) => {
    const eq = part.indexOf('=');
    return [part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim()];
  });
}

const sameRdns = (a: readonly Rdn[], b: readonly Rdn[]): boolean => a.length === b.length && a.every(([k, v], i) => b[i]?.[0] === k && b[i]?.[1] === v);

/** Whether a configured subject (a CN alone, or a DN in either attribute order) names this certificate subject. */
export function subjectMatches(configured: string, certificateSubject: string): boolean {
  const rdns = parseNodeSubject(certificateSubject);
  if (!configured.includes('=')) return rdns.some(([k, v]) => k === 'CN' && v === configured.trim());
  const wanted = parseConfiguredDn(configured);
  return sameRdns(wanted, rdns) || sameRdns([...wanted].reverse(), rdns);
}

const hex = (fingerprint: string): string => fingerprint.replace(/:/g, '').toUpperCase();

/** The subject written as RFC 4514 ("CN=x,O=Hospital,C=NL"): what audit records name the caller by. */
function rfc4514(certificateSubject: string): string {
  return parseNodeSubject(certificateSubject)
    .reverse()
    .map(([k, v]) => `${k}=${v.replace(/([,+"\\<>;])/g, '\\$1')}`)
    .join(',');
}

/** What the TLS layer says about the request's client certificate. */
type Presented = { kind: 'none' } | { kind: 'unverified'; reason: string } | { kind: 'verified'; subject: string; sha256: string };

function presented(req: Request): Presented {
  const socket = req.socket;
  // Plain HTTP (or the service's internal loopback listener): no certificate can have been presented.
  if (!(socket instanceof TLSSocket)) return { kind: 'none' };
  const cert = socket.getPeerX509Certificate();
  if (!cert) return { kind: 'none' };
  // authorized: the chain verified against http.tls.caFile and the certificate is within its validity period.
  if (!socket.authorized) return { kind: 'unverified', reason: String(socket.authorizationError ?? 'not verified') };
  return { kind: 'verified', subject: cert.subject, sha256: hex(cert.fingerprint256) };
}

/**
 * The principal of a request's verified client certificate that auth.clientCertificates maps to roles; undefined
 * when there is none, it did not verify, or it is not listed. Entries by fingerprint are looked at first: a
 * fingerprint names one certificate, a subject every certificate the trusted CAs issued with it.
 */
export function clientCertificatePrincipal(req: Request, mappings: readonly ClientCertificateMapping[]): Principal | undefined {
  const cert = presented(req);
  if (cert.kind !== 'verified') return undefined;
  const byFingerprint = mappings.find((m) => m.sha256 !== undefined && hex(m.sha256) === cert.sha256);
  const mapping = byFingerprint ?? mappings.find((m) => m.subject !== undefined && subjectMatches(m.subject, cert.subject));
  if (!mapping) return undefined;
  const dn = rfc4514(cert.subject);
  return { kind: 'client-certificate', subject: dn || `sha256:${cert.sha256}`, roles: mapping.roles, clientAddress: clientAddress(req) };
}

/**
 * The client-certificate authenticator of the chain (src/http/auth/authenticate.ts): a listed, verified certificate
 * gives its principal; a presented certificate that did not verify or is not listed is refused (401), never taken
 * as anonymous; no certificate leaves the request to the other authenticators.
 */
export function clientCertificateAuthenticator(mappings: readonly ClientCertificateMapping[]): Authenticator {
  return (req) => {
    const cert = presented(req);
    if (cert.kind === 'none') return undefined;
    if (cert.kind === 'unverified') return { refused: `the client certificate did not verify (${cert.reason}): it must chain to a CA of http.tls.caFile and be within its validity period` };
    const principal = clientCertificatePrincipal(req, mappings);
    return principal ? { principal } : { refused: 'the client certificate is not listed in auth.clientCertificates' };
  };
}

/** Whether client certificates are a configured way to authenticate (for the secure-default bind rule). */
export function clientCertificatesConfigured(config: { http: { tls: { certFile: string; clientCertificates: string } }; auth: { clientCertificates: readonly unknown[] } }): boolean {
  return config.http.tls.certFile !== '' && config.http.tls.clientCertificates !== 'none' && config.auth.clientCertificates.length > 0;
}
