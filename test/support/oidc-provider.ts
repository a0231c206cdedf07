import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import path from 'node:path';

/** A private signing key as a JWK (RS256 by default), for the provider or for a private_key_jwt client. */
export function generateJwk(kind: 'rsa' | 'ec' = 'rsa', kid = `k-${Math.random().toString(36).slice(2, 10)}`): JsonWebKey & { kid: string } {
  const { privateKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { ...privateKey.export({ format: 'jwk' }), kid };
}

/** The public half of a private JWK. */
export function publicJwk(jwk: JsonWebKey & { kid: string }): JsonWebKey & { kid: string } {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub as JsonWebKey & { kid: string };
}

export interface OidcClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  token_endpoint_auth_signing_alg?: string;
  jwks?: { keys: JsonWebKey[] };
  /** Copied into every access token of this client as the `roles` claim. */
  roles?: string[];
  /** Access token lifetime in seconds (default 300). */
  token_ttl?: number;
}

export interface OidcProviderOptions {
  clients: OidcClient[];
  /** Provider signing keys (private JWKs); the first signs. Default: one fresh RSA key. */
  signingKeys?: Array<JsonWebKey & { kid: string }>;
  /** Audience of tokens requested without a `resource` parameter. */
  defaultAudience?: string;
  port?: number;
}

export interface RunningOidcProvider {
  issuer: string;
  tokenEndpoint: string;
  signingKeys: Array<JsonWebKey & { kid: string }>;
  /** client_credentials grant with client_secret_basic (a test helper; the service has its own client). */
  token(clientId: string, clientSecret: string, resource?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts test/support/oidc-server.mjs (a real oidc-provider) on loopback and waits until it listens. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const signingKeys = options.signingKeys ?? [generateJwk('rsa')];
  const clients = options.clients.map((c) => ({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], ...c }));
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'oidc-server.mjs')], {
    env: { ...process.env, NODE_ENV: 'test', OIDC_TEST_CONFIG: JSON.stringify({ port: options.port ?? 0, signingKeys, clients, defaultAudience: options.defaultAudience }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`OIDC provider did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`OIDC provider exited (${code}): ${stderr}`));
    });
  });
  const tokenEndpoint = `${issuer}/token`;
  return {
    issuer,
    tokenEndpoint,
    signingKeys,
    async token(clientId, clientSecret, resource) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', ...(resource ? { resource } : {}) });
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const json = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !json.access_token) throw new Error(`token request failed: ${res.status} ${json.error ?? ''} ${json.error_description ?? ''}`);
      return json.access_token;
    },
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
