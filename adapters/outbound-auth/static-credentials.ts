import type { OutboundCredentials } from '../../src/ports/outbound-auth';
import type { Secret } from './secret';

/** No credentials: for a PACS or FHIR server on a trusted segment (or one authenticated by mTLS alone). */
export function noCredentials(): OutboundCredentials {
  return { kind: 'none', headers: () => Promise.resolve({}), rejected: () => false };
}

/**
 * HTTP Basic (Orthanc's RegisteredUsers, most PACS). After a 401 the password file is read again: a retry helps only
 * when the Secret was rotated meanwhile.
 */
export function basicCredentials(username: string, password: Secret): OutboundCredentials {
  return {
    kind: 'basic',
    headers: () => Promise.resolve({ authorization: `Basic ${Buffer.from(`${username}:${password.value()}`, 'utf8').toString('base64')}` }),
    rejected: () => password.reload(),
  };
}

/** A static bearer token (a long-lived API token the server issued). After a 401 the token file is read again. */
export function bearerCredentials(token: Secret): OutboundCredentials {
  return {
    kind: 'bearer',
    headers: () => Promise.resolve({ authorization: `Bearer ${token.value()}` }),
    rejected: () => token.reload(),
  };
}
