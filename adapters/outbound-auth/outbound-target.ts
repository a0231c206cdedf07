import type https from 'node:https';
import type { Dispatcher } from 'undici';
import type { Dependency } from '../../src/domain/job';
import { silentLogger, type Logger } from '../../src/logging';
import type { OutboundCredentials } from '../../src/ports/outbound-auth';
import { Secret } from './secret';
import { basicCredentials, bearerCredentials, noCredentials } from './static-credentials';
import { tlsDispatcher, tlsHttpsAgent, type TlsMaterial } from './tls-material';

export interface OutboundTargetOptions {
  dependency: Dependency;
  credentials?: OutboundCredentials;
  tls?: TlsMaterial;
  logger?: Logger;
}

/**
 * The one way out to one outside system (the PACS, the FHIR server): every request to it goes through here and
 * gets its TLS settings (CA bundle, client certificate) and its credentials. A 401 makes the credentials drop what
 * was sent; when they can offer something fresh (a new token) the request is sent once more, never more: a second
 * 401 goes back to the caller, whose error says the credentials were refused (retryable, not an outage).
 */
export class OutboundTarget {
  readonly dependency: Dependency;
  readonly credentials: OutboundCredentials;
  /** For Node's fetch (and fhir-kit-client, which uses it): undefined = Node's defaults. */
  readonly dispatcher: Dispatcher | undefined;
  /** For node:https users (xhr2): undefined = Node's global agent. */
  readonly httpsAgent: https.Agent | undefined;
  private readonly logger: Logger;
  /** Requests sent again after a 401 (tests and metrics). */
  authRetries = 0;

  constructor(options: OutboundTargetOptions) {
    this.dependency = options.dependency;
    this.credentials = options.credentials ?? noCredentials();
    this.dispatcher = tlsDispatcher(options.tls);
    this.httpsAgent = tlsHttpsAgent(options.tls);
    this.logger = (options.logger ?? silentLogger).child({ dependency: options.dependency });
  }

  /** A target with the legacy options of the adapters (Basic or a static token, no TLS settings). */
  static legacy(dependency: Dependency, auth?: { username: string; password: string } | { bearerToken: string }): OutboundTarget {
    if (!auth) return new OutboundTarget({ dependency });
    const credentials = 'bearerToken' in auth ? bearerCredentials(Secret.fixed(auth.bearerToken)) : basicCredentials(auth.username, Secret.fixed(auth.password));
    return new OutboundTarget({ dependency, credentials });
  }

  /** fetch with this target's TLS and no credentials (token endpoint, discovery). */
  plainFetch = (url: string, init: RequestInit = {}): Promise<Response> => {
    // Node's fetch takes an undici dispatcher; lib.dom's RequestInit does not declare it.
    return fetch(url, { ...init, ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}) } as RequestInit);
  };

  /** fetch with TLS and credentials; a 401 is retried once with fresh credentials. Bodies must be replayable (strings, buffers). */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const first = await this.credentials.headers();
    const res = await this.plainFetch(url, { ...init, headers: { ...headerRecord(init.headers), ...first } });
    if (res.status !== 401 || !this.credentials.rejected(first)) return res;
    await res.body?.cancel();
    this.authRetries++;
    this.logger.debug('401 from the target: sending the request once more with fresh credentials');
    const fresh = await this.credentials.headers();
    return this.plainFetch(url, { ...init, headers: { ...headerRecord(init.headers), ...fresh } });
  }

  /**
   * The same for a client library that throws on a non-2xx answer: `attempt` sends one request with the given
   * auth headers; `statusOf` reads the HTTP status from what it threw.
   */
  async call<T>(attempt: (authHeaders: Record<string, string>) => Promise<T>, statusOf: (err: unknown) => number | undefined): Promise<T> {
    const first = await this.credentials.headers();
    try {
      return await attempt(first);
    } catch (err) {
      if (statusOf(err) !== 401 || !this.credentials.rejected(first)) throw err;
    }
    this.authRetries++;
    this.logger.debug('401 from the target: sending the request once more with fresh credentials');
    return attempt(await this.credentials.headers());
  }

  async close(): Promise<void> {
    this.httpsAgent?.destroy();
    await this.dispatcher?.close();
  }
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...(headers as Record<string, string>) };
}
