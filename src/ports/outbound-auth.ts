/**
 * Credentials the service presents to an outside system it calls (the PACS, a FHIR server): nothing, Basic, a
 * static bearer token, or an OAuth2 access token obtained and refreshed by the adapter. The HTTP code of a target
 * asks for headers before each request and reports a 401 back, so a token the target no longer accepts (revoked,
 * expired early, signing key rotated) is replaced once instead of failing every call until restart.
 */
export type OutboundAuthKind = 'none' | 'basic' | 'bearer' | 'client-credentials' | 'private-key-jwt';

export interface OutboundCredentials {
  readonly kind: OutboundAuthKind;
  /**
   * Headers to send with the next request (usually `authorization`; none for 'none'). May fetch a token; fails with
   * an AppError of the target's family (PACS_… / FHIR_…) that never contains a secret.
   */
  headers(): Promise<Record<string, string>>;
  /**
   * The target answered 401 to a request sent with `headers`. The credentials forget what was sent; true when a
   * second attempt with fresh headers can succeed (a new token will be fetched), false when it cannot (static
   * credentials: the same ones would be sent again).
   */
  rejected(headers: Readonly<Record<string, string>>): boolean;
}
