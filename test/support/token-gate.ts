import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

/**
 * A resource server in front of a real target for outbound-auth tests: every request must carry a bearer JWT that
 * verifies against the real OpenID provider's JWKS (issuer, audience, expiry); tokens can be revoked one by one or
 * all at once, which makes the gate answer 401 as a real server does after a revocation. Authorized requests go to
 * `upstream` (an Express app such as the embedded FHIR store) or are proxied to `proxyTo` (a real Orthanc, with its
 * own Basic credentials put in place of the token).
 */
export interface TokenGate {
  url: string;
  /** Tokens accepted / refused so far. */
  accepted: number;
  refused: number;
  /** Refuse this token from now on (by jti). */
  revoke(token: string): void;
  /** Refuse every token, fresh ones included (a client that lost its permission). */
  refuseAll(on: boolean): void;
  /** The last token accepted. */
  lastToken: string | undefined;
  stop(): Promise<void>;
}

export interface TokenGateOptions {
  issuer: string;
  audience: string;
  upstream?: (req: IncomingMessage, res: ServerResponse) => void;
  proxyTo?: { baseUrl: string; authorization: string };
}

export async function startTokenGate(options: TokenGateOptions): Promise<TokenGate> {
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  const revoked = new Set<string>();
  let refuseEverything = false;
  const gate: TokenGate = {
    url: '',
    accepted: 0,
    refused: 0,
    lastToken: undefined,
    revoke: (token) => void revoked.add(String(decodeJwt(token).jti)),
    refuseAll: (on) => void (refuseEverything = on),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const refuse = (res: ServerResponse): void => {
    gate.refused++;
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
    res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'invalid token' }] }));
  };
  const server = http.createServer((req, res) => {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return refuse(res);
    jwtVerify(token, jwks, { issuer: options.issuer, audience: options.audience }).then(
      ({ payload }) => {
        if (refuseEverything || revoked.has(String(payload.jti))) return refuse(res);
        gate.accepted++;
        gate.lastToken = token;
        if (options.upstream) return options.upstream(req, res);
        if (options.proxyTo) return proxy(req, res, options.proxyTo);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => refuse(res),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gate;
}

function proxy(req: IncomingMessage, res: ServerResponse, to: { baseUrl: string; authorization: string }): void {
  const target = new URL(req.url ?? '/', to.baseUrl);
  const headers = { ...req.headers, host: target.host, authorization: to.authorization };
  const upstream = http.request(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
}
