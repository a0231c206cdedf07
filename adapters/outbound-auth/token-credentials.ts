import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { AppError } from '../../src/domain/errors';
import type { Dependency } from '../../src/domain/job';
import { stripUrlCredentials } from '../../src/domain/redact-url';
import { silentLogger, type Logger } from '../../src/logging';
import type { OutboundCredentials } from '../../src/ports/outbound-auth';
import type { Secret } from './secret';
import { describeNetworkError, REJECTED, TARGET_LABEL, UNAVAILABLE } from './target-errors';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** The private key of a SMART Backend Services / private_key_jwt client. */
export interface ClientAssertionKey {
  key: KeyObject;
  kid: string;
  alg: 'RS384' | 'ES384';
}

/** How this client sends requests (TLS of the target applied, no auth): the token endpoint and discovery use it. */
export type PlainFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface TokenCredentialsOptions {
  /** Whose token this is: picks the error codes (PACS_… / FHIR_…) and the wording. */
  dependency: Dependency;
  /** Config key of these settings, e.g. "outbound.fhir.auth", named in errors. */
  configKey: string;
  clientId: string;
  method: TokenEndpointAuthMethod;
  /** For client_secret_basic / client_secret_post; read again before every token request (rotation). */
  clientSecret?: Secret;
  /** For private_key_jwt. */
  assertionKey?: ClientAssertionKey;
  /** The token endpoint; without it, found from the issuer's discovery document. */
  tokenUrl?: string;
  /** Authorization server (or FHIR base for SMART): /.well-known/openid-configuration, smart-configuration or oauth-authorization-server. */
  issuer?: string;
  scope?: string;
  /** RFC 8707 resource indicator (the audience the token is for). */
  resource?: string;
  fetch: PlainFetch;
  /** Per token/discovery request; default 10 s. */
  timeoutMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface CachedToken {
  value: string;
  /** Epoch ms after which a new token is fetched (before expiry: 30 s, or a fifth of a short lifetime). */
  refreshAt: number;
  expiresAt: number;
}

/** Lifetime assumed when the server sends no expires_in (RFC 6749 leaves it optional). */
const DEFAULT_TTL_S = 300;
/** client_assertion lifetime: SMART Backend Services wants exp no more than 5 minutes ahead. */
const ASSERTION_TTL_S = 240;
const DISCOVERY_PATHS = ['/.well-known/openid-configuration', '/.well-known/smart-configuration', '/.well-known/oauth-authorization-server'];

/** Refresh margin: 30 s before expiry, but at most a fifth of the lifetime (less a second for exp rounding). */
export function refreshAtMs(obtainedAt: number, expiresInS: number): number {
  // exp is whole seconds: a token said to live 3 s may have only 2 s left when it arrives.
  const ttl = Math.max(0, expiresInS - 1) * 1000;
  return obtainedAt + ttl - Math.min(30_000, ttl / 5);
}

/**
 * OAuth2 client credentials grant (RFC 6749 §4.4) with client_secret_basic, client_secret_post or private_key_jwt
 * (RFC 7523; the SMART Backend Services profile: RS384/ES384, kid header, single-use jti, exp ≤ 5 min, aud = token
 * endpoint, iss = sub = client_id). One token is cached and shared; it is replaced shortly before it expires, and
 * concurrent callers wait for the same token request. A 401 from the target drops it (`rejected`).
 */
export class TokenCredentials implements OutboundCredentials {
  readonly kind;
  private cached: CachedToken | undefined;
  private inFlight: Promise<CachedToken> | undefined;
  private endpoint: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly label: string;
  /** Token requests sent (for tests and metrics). */
  tokenRequests = 0;

  constructor(private readonly options: TokenCredentialsOptions) {
    this.kind = options.method === 'private_key_jwt' ? ('private-key-jwt' as const) : ('client-credentials' as const);
    this.now = options.now ?? Date.now;
    this.logger = (options.logger ?? silentLogger).child({ dependency: options.dependency, auth: this.kind });
    this.label = TARGET_LABEL[options.dependency];
    if (!options.tokenUrl && !options.issuer) throw new AppError('CONFIG_INVALID', `${options.configKey}.tokenUrl: required (or ${options.configKey}.issuer for discovery)`);
    if (options.method === 'private_key_jwt' ? !options.assertionKey : !options.clientSecret) {
      throw new AppError('CONFIG_INVALID', `${options.configKey}: ${options.method} needs ${options.method === 'private_key_jwt' ? 'privateKeyFile' : 'clientSecret (env) or clientSecretFile'}`);
    }
  }

  async headers(): Promise<Record<string, string>> {
    const token = await this.token();
    return { authorization: `Bearer ${token.value}` };
  }

  rejected(headers: Readonly<Record<string, string>>): boolean {
    if (this.cached && headers.authorization === `Bearer ${this.cached.value}`) {
      this.cached = undefined;
      this.logger.info(`${this.label} refused our access token (HTTP 401); fetching a new one`);
    }
    return true;
  }

  private async token(): Promise<CachedToken> {
    const now = this.now();
    const cached = this.cached;
    if (cached && now < cached.refreshAt) return cached;
    this.inFlight ??= this.request().finally(() => (this.inFlight = undefined));
    try {
      const fresh = await this.inFlight;
      this.cached = fresh;
      return fresh;
    } catch (err) {
      // The token server is down but the token we hold has not expired yet: keep using it.
      if (cached && this.cached === cached && this.now() < cached.expiresAt - 5_000) {
        this.logger.warn({ err: (err as Error).message }, 'token refresh failed; using the current token until it expires');
        return cached;
      }
      throw err;
    }
  }

  private async request(): Promise<CachedToken> {
    const tokenUrl = await this.tokenEndpoint();
    const { options } = this;
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) body.set('scope', options.scope);
    if (options.resource) body.set('resource', options.resource);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    let secret = '';
    if (options.method === 'private_key_jwt') {
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', await this.clientAssertion(tokenUrl));
    } else {
      options.clientSecret?.reload();
      secret = options.clientSecret?.value() ?? '';
      if (options.method === 'client_secret_basic') {
        // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
        const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
        headers.authorization = `Basic ${Buffer.from(`${enc(options.clientId)}:${enc(secret)}`).toString('base64')}`;
      } else {
        body.set('client_id', options.clientId);
        body.set('client_secret', secret);
      }
    }
    const where = `token endpoint ${safeUrl(tokenUrl)}`;
    this.tokenRequests++;
    const sentAt = this.now();
    let res: Response;
    try {
      res = await options.fetch(tokenUrl, { method: 'POST', headers, body: body.toString(), signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new AppError(UNAVAILABLE[options.dependency], `${where} not reachable for ${this.label} access token: ${describeNetworkError(err)}`);
    }
    const text = await res.text().catch(() => '');
    const json = parseJson(text);
    if (!res.ok) {
      const reason = [json?.error, json?.error_description].filter((s) => typeof s === 'string').join(': ');
      const clean = scrub(reason || text.slice(0, 100), secret).slice(0, 300);
      const outage = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new AppError(
        outage ? UNAVAILABLE[options.dependency] : REJECTED[options.dependency],
        `${where} refused the ${this.kind} token request of client "${options.clientId}" for ${this.label} (HTTP ${res.status}${clean ? ` ${clean}` : ''}); check ${options.configKey}`,
        // Not an outage of the target, but a rotated secret or a fixed client can make a later attempt succeed.
        { retryable: true, details: { tokenEndpointStatus: res.status } },
      );
    }
    const value = json?.access_token;
    const type = json?.token_type;
    if (typeof value !== 'string' || !value || (typeof type === 'string' && type.toLowerCase() !== 'bearer')) {
      throw new AppError(REJECTED[options.dependency], `${where} answered without a bearer access_token (token_type ${typeof type === 'string' ? type : 'missing'})`, { retryable: true });
    }
    const expiresIn = typeof json?.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TTL_S;
    this.logger.debug({ expiresInS: expiresIn }, `access token for ${this.label} obtained`);
    // Counted from when the request was sent: the server's clock started before its answer arrived.
    return { value, refreshAt: refreshAtMs(sentAt, expiresIn), expiresAt: sentAt + expiresIn * 1000 };
  }

  private clientAssertion(tokenUrl: string): Promise<string> {
    const key = this.options.assertionKey as ClientAssertionKey;
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.options.clientId)
      .setSubject(this.options.clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_TTL_S)
      .sign(key.key);
  }

  private tokenEndpoint(): Promise<string> {
    if (this.options.tokenUrl) return Promise.resolve(this.options.tokenUrl);
    this.endpoint ??= this.discover().catch((err: unknown) => {
      this.endpoint = undefined;
      throw err;
    });
    return this.endpoint;
  }

  /** The token endpoint from the issuer's metadata (OpenID discovery, SMART configuration or RFC 8414). */
  private async discover(): Promise<string> {
    const issuer = (this.options.issuer ?? '').replace(/\/+$/, '');
    const dependency = this.options.dependency;
    for (const suffix of DISCOVERY_PATHS) {
      let res: Response;
      try {
        res = await this.options.fetch(`${issuer}${suffix}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
      } catch (err) {
        throw new AppError(UNAVAILABLE[dependency], `issuer ${safeUrl(issuer)} not reachable for discovery: ${describeNetworkError(err)}`);
      }
      if (res.status >= 500) {
        await res.body?.cancel();
        throw new AppError(UNAVAILABLE[dependency], `issuer ${safeUrl(issuer)} answered HTTP ${res.status} to ${suffix}`);
      }
      const json = res.ok ? parseJson(await res.text().catch(() => '')) : (await res.body?.cancel(), undefined);
      const endpoint = json?.token_endpoint;
      if (typeof endpoint === 'string' && /^https?:\/\//i.test(endpoint)) {
        this.logger.info({ tokenEndpoint: safeUrl(endpoint), from: suffix }, 'token endpoint discovered');
        return endpoint;
      }
    }
    throw new AppError(REJECTED[dependency], `${this.options.configKey}.issuer: ${safeUrl(issuer)} publishes no token_endpoint (tried ${DISCOVERY_PATHS.join(', ')}); set ${this.options.configKey}.tokenUrl`, { retryable: true });
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A URL for messages: no credentials, no query string. */
function safeUrl(url: string): string {
  return stripUrlCredentials(url).replace(/[?#].*$/, '');
}

/** Some servers echo what they received; never let that carry our secret into a message. */
function scrub(text: string, secret: string): string {
  return secret ? text.split(secret).join('***') : text;
}
