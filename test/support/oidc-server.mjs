/* global process, console */
// A real OpenID provider (oidc-provider, certified) for the tests, run as its own process on loopback: plain Node
// loads the ESM package, which Jest's CommonJS runtime cannot. Configured from one JSON document in
// OIDC_TEST_CONFIG: { port, signingKeys: [private JWK], clients: [client metadata + roles, token_ttl] }.
// It prints "listening <issuer>" once ready. Access tokens are JWTs for the requested resource (the audience).
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG ?? '{}');
const port = config.port ?? 0;
const http = await import('node:http');

// Bind first, so the issuer URL carries the real port even when the OS picks it.
const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: { keys: config.signingKeys },
  extraClientMetadata: { properties: ['roles', 'token_ttl'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.defaultAudience ?? 'urn:clinical-ai',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator, client) => ({
        scope: 'api system/*.read system/*.write',
        audience: resourceIndicator,
        accessTokenTTL: client.token_ttl ?? 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: config.accessTokenAlg ?? 'RS256' } },
      }),
    },
  },
  scopes: ['api', 'system/*.read', 'system/*.write'],
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384', 'PS384'] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  extraTokenClaims: (ctx) => {
    const client = ctx.oidc.client;
    return client?.roles ? { roles: client.roles } : undefined;
  },
});
provider.proxy = false;
server.on('request', provider.callback());
console.log(`listening ${issuer}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
