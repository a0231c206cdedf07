import { createHash } from 'node:crypto';
import { main } from './cli';
import { authCommand } from './auth-command';

describe('R11 clinical-ai auth generate-api-key', () => {
  it('when a key is generated, then stdout has the key once and an auth.apiKeys entry with its SHA-256 only', () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(authCommand('generate-api-key', new Map([['id', 'ris-prod'], ['roles', 'viewer,sender']]), (l) => out.push(l), (l) => err.push(l))).toBe(0);
    const [key, entryLine] = out as [string, string];
    expect(out).toHaveLength(2);
    expect(key).toMatch(/^cai_/);
    const entry = JSON.parse(entryLine) as { id: string; sha256: string; roles: string[] };
    expect(entry).toEqual({ id: 'ris-prod', sha256: createHash('sha256').update(key).digest('hex'), roles: ['viewer', 'sender'] });
    expect(entryLine).not.toContain(key);
    expect(err.join('\n')).not.toContain(key);
  });

  it('when the id or roles are missing or unknown, then it fails with a message naming the flag', async () => {
    expect(() => authCommand('generate-api-key', new Map([['roles', 'viewer']]), () => {}, () => {})).toThrow(/--id/);
    expect(() => authCommand('generate-api-key', new Map([['id', 'x'], ['roles', 'viewer,root']]), () => {}, () => {})).toThrow(/not: root/);
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['auth', 'generate-api-key', '--id', 'x'])).toBe(1);
      expect(spy.mock.calls.flat().join('\n')).toContain('--roles must list');
    } finally {
      spy.mockRestore();
    }
  });
});
