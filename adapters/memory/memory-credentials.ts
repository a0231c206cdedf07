import type { OutboundCredentials } from '../../src/ports/outbound-auth';

/**
 * The in-memory twin of token credentials: hands out "memory-token-1", "memory-token-2", … and behaves like the
 * OAuth2 adapter (one token until it is rejected, then a fresh one), without a token server.
 */
export class MemoryCredentials implements OutboundCredentials {
  readonly kind = 'client-credentials' as const;
  /** Tokens issued so far. */
  issued = 0;
  private current: string | undefined;

  headers(): Promise<Record<string, string>> {
    this.current ??= `memory-token-${++this.issued}`;
    return Promise.resolve({ authorization: `Bearer ${this.current}` });
  }

  rejected(headers: Readonly<Record<string, string>>): boolean {
    if (headers.authorization === `Bearer ${this.current}`) this.current = undefined;
    return true;
  }
}
