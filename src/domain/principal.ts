/**
 * Who is calling the HTTP API, as the access control decided it (src/http/auth). Audit records name the caller by
 * `subject` (token `sub` or API key id) and `clientAddress`; application logs name at most the subject.
 */
export const ROLES = ['viewer', 'sender', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type PrincipalKind = 'oidc' | 'api-key' | 'client-certificate' | 'service' | 'anonymous';

export interface Principal {
  kind: PrincipalKind;
  /** Token subject, API key id, certificate subject, "clinical-ai" for the service itself, "anonymous". */
  subject: string;
  roles: readonly Role[];
  /** Remote address of the HTTP peer (as seen by this process, or from a trusted proxy). */
  clientAddress: string;
  /** Token issuer for OIDC principals. */
  issuer?: string;
}

/** admin holds every role; otherwise a role is held only when granted. */
export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes('admin') || principal.roles.includes(role);
}
