import type { ErrorCode } from '../../src/domain/errors';
import type { Dependency } from '../../src/domain/job';
import { stripUrlCredentials } from '../../src/domain/redact-url';

/** The error codes of each outside system: an outage (retryable, the breaker may open) and a refusal. */
export const UNAVAILABLE: Record<Dependency, ErrorCode> = { pacs: 'PACS_UNAVAILABLE', fhir: 'FHIR_UNAVAILABLE' };
export const REJECTED: Record<Dependency, ErrorCode> = { pacs: 'PACS_REJECTED', fhir: 'FHIR_REJECTED' };
export const TARGET_LABEL: Record<Dependency, string> = { pacs: 'the PACS', fhir: 'the FHIR server' };

/** Node's TLS error codes and what an operator should do about each. */
const TLS_HINTS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a trusted CA; set tls.caFile to the CA bundle that signed it',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by a trusted CA; set tls.caFile to the CA bundle that signed it',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in an untrusted CA; set tls.caFile to that CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it presents a self-signed certificate; set tls.caFile to it',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (check the clocks)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host (check the URL host against the certificate SAN)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'it requires a client certificate; set tls.certFile and tls.keyFile',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'it refused our client certificate (tls.certFile not signed by a CA it trusts?)',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'it does not trust the CA of our client certificate (tls.certFile)',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the TLS handshake failed (client certificate required or no common cipher)',
};

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function chainCodes(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') codes.push(code);
    // Node's fetch with an npm-undici dispatcher passes the socket error on as a plain Error with its message only.
    if (typeof message === 'string' && /^SocketError|other side closed/.test(message)) codes.push('UND_ERR_SOCKET');
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Why a request got no HTTP answer, in words an operator can act on: the TLS problem and its fix, or the socket
 * error code. Never the URL's credentials (a URL that somehow carries some is stripped).
 */
export function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  if (code && TLS_HINTS[code]) return `TLS: ${TLS_HINTS[code]} (${code})`;
  if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || /CERT|SSL|TLS/.test(code ?? '')) return `TLS handshake failed (${code})`;
  if (code === 'ECONNRESET') return 'connection reset (a TLS server that requires a client certificate does this too; see tls.certFile)';
  if (code) return code;
  // TLS 1.3 servers refuse a missing client certificate after the handshake: the client sees the socket closed.
  if (chainCodes(err).includes('UND_ERR_SOCKET')) return 'the server closed the connection (a TLS server that requires a client certificate does this; see tls.certFile)';
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timed out';
  // fetch's own message is only "fetch failed": the innermost cause says more. (Errors may come from another
  // realm, e.g. under Jest, so no instanceof checks.)
  let inner: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (inner as { cause?: unknown } | undefined)?.cause;
    if (!cause || typeof cause !== 'object') break;
    inner = cause;
  }
  const message = (inner as { message?: unknown } | undefined)?.message;
  return stripUrlCredentials(typeof message === 'string' ? message : String(inner)).slice(0, 200);
}
