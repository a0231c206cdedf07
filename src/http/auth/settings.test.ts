import { loadConfig, redactConfig } from '../../config';
import { generateApiKey } from './api-keys';
import { authConfigured, httpAuthFromConfig } from './settings';
import { silentLogger } from '../../logging';

const load = (overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ env, overrides });
const problems = (overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string => {
  try {
    load(overrides, env);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('R11 auth configuration', () => {
  it('when nothing is configured, then the server listens on loopback, no authentication is configured and anonymous callers get viewer, sender, operator', () => {
    const config = load({});
    expect(config.http).toMatchObject({ host: '127.0.0.1', allowAnonymous: false });
    expect(config.auth).toMatchObject({ apiKeys: [], anonymousRoles: ['viewer', 'sender', 'operator'], failedAttemptsPerMinute: 30, oidc: { issuer: '', clockToleranceSeconds: 60, rolesClaim: 'roles' } });
    expect(config.auth.oidc.algorithms).toEqual(['RS256', 'RS384', 'PS256', 'ES256', 'ES384']);
    expect(authConfigured(config)).toBe(false);
    expect(httpAuthFromConfig(config, silentLogger).anonymousRoles).toEqual(['viewer', 'sender', 'operator']);
  });

  it('when API keys come from the environment as JSON, then they configure authentication, anonymous callers are refused and the log line masks digests', () => {
    const { sha256 } = generateApiKey();
    const config = load({}, { CLINICAL_AI_AUTH_API_KEYS: JSON.stringify([{ id: 'ris', sha256, roles: ['sender'] }]) });
    expect(authConfigured(config)).toBe(true);
    expect(httpAuthFromConfig(config, silentLogger).anonymousRoles).toBeUndefined();
    expect(JSON.stringify(redactConfig(config))).not.toContain(sha256);
    // allowAnonymous serves anonymous callers on purpose, next to the keys.
    expect(httpAuthFromConfig({ ...config, http: { ...config.http, allowAnonymous: true } }, silentLogger).anonymousRoles).toEqual(['viewer', 'sender', 'operator']);
  });

  it('when auth settings are unsafe or incomplete, then loading fails naming each key', () => {
    expect(problems({ auth: { anonymousRoles: ['viewer', 'admin'] } })).toContain('auth.anonymousRoles');
    expect(problems({ auth: { oidc: { issuer: 'https://idp.example', algorithms: ['HS256'] } } })).toMatch(/auth\.oidc\.algorithms[\s\S]*auth\.oidc\.audience: required/);
    expect(problems({ auth: { oidc: { issuer: 'https://idp.example', audience: 'a', algorithms: ['none'] } } })).toContain('auth.oidc.algorithms');
    expect(problems({ auth: { oidc: { issuer: 'https://idp.example', audience: 'a', clockToleranceSeconds: 3600 } } })).toContain('auth.oidc.clockToleranceSeconds');
    const { sha256 } = generateApiKey();
    const dup = problems({ auth: { apiKeys: [{ id: 'a', sha256, roles: ['viewer'] }, { id: 'a', sha256, roles: ['viewer'] }] } });
    expect(dup).toContain('the id "a" is used twice');
    expect(dup).toContain('the same key digest is configured twice');
    expect(problems({ auth: { apiKeys: [{ id: 'a', sha256: 'cai_plaintext-key', roles: ['viewer'] }] } })).toContain('auth.apiKeys.0.sha256');
    expect(problems({ auth: { operatorToken: 'x'.repeat(40) } })).toContain('"operatorToken"');
  });
});
