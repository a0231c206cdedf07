import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { bearerToken, clientAddress, type Authenticator } from './types';

export interface ServiceCredential {
  /** Sent by the service's own clients (FhirClientSink on the embedded /fhir); never logged, never in config. */
  token: string;
  authenticator: Authenticator;
}

/**
 * A random bearer token made at every start, for the service's calls to its own HTTP API (it writes results to the
 * embedded /fhir over HTTP, like to an external server). It holds admin; it dies with the process.
 */
export function createServiceCredential(): ServiceCredential {
  const token = `cai-svc_${randomBytes(32).toString('base64url')}`;
  const digest = createHash('sha256').update(token).digest();
  return {
    token,
    authenticator: (req) => {
      const presented = bearerToken(req);
      if (!presented?.startsWith('cai-svc_')) return undefined;
      if (!timingSafeEqual(createHash('sha256').update(presented).digest(), digest)) return { refused: 'the service credential is not valid' };
      return { principal: { kind: 'service', subject: 'clinical-ai', roles: ['admin'], clientAddress: clientAddress(req) } };
    },
  };
}
