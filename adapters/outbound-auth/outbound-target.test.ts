import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryCredentials } from '../memory/memory-credentials';
import { outboundCredentialsContract } from '../../test/support/outbound-credentials-contract';
import { OutboundTarget } from './outbound-target';
import { Secret } from './secret';
import { basicCredentials, bearerCredentials, noCredentials } from './static-credentials';
import { refreshAtMs } from './token-credentials';
import { describeNetworkError } from './target-errors';
import { stripUrlCredentials, urlCredentials } from '../../src/domain/redact-url';

outboundCredentialsContract('memory twin', () => new MemoryCredentials(), { renewable: true, sendsAuthorization: true });
outboundCredentialsContract('none', () => noCredentials(), { renewable: false, sendsAuthorization: false });
outboundCredentialsContract('basic', () => basicCredentials('u', Secret.fixed('p')), { renewable: false, sendsAuthorization: true });
outboundCredentialsContract('bearer', () => bearerCredentials(Secret.fixed('t')), { renewable: false, sendsAuthorization: true });

/** A server that answers 401 to the tokens in `refused` and 200 (echoing the token) otherwise. */
async function server(refused: Set<string>): Promise<{ url: string; seen: string[]; stop(): Promise<void> }> {
  const seen: string[] = [];
  const s = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    seen.push(auth);
    res.writeHead(refused.has(auth) || refused.has('*') ? 401 : 200).end(auth);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`, seen, stop: () => new Promise((resolve) => s.close(() => resolve())) };
}

describe('OutboundTarget', () => {
  it('when the target refuses a token, then the request is sent once more with a fresh one; a second refusal is returned, not retried', async () => {
    const refused = new Set(['Bearer memory-token-1']);
    const srv = await server(refused);
    const credentials = new MemoryCredentials();
    const target = new OutboundTarget({ dependency: 'fhir', credentials });
    const res = await target.fetch(srv.url, { headers: { accept: 'text/plain' } });
    expect([res.status, await res.text()]).toEqual([200, 'Bearer memory-token-2']);
    expect(srv.seen).toEqual(['Bearer memory-token-1', 'Bearer memory-token-2']);
    refused.add('*');
    const again = await target.fetch(srv.url);
    expect(again.status).toBe(401);
    expect(srv.seen).toHaveLength(4);
    expect(credentials.issued).toBe(3);
    await srv.stop();
  });

  it('when static credentials are refused, then no second request (the same would be sent)', async () => {
    const srv = await server(new Set(['*']));
    const target = new OutboundTarget({ dependency: 'pacs', credentials: basicCredentials('u', Secret.fixed('p')) });
    expect((await target.fetch(srv.url)).status).toBe(401);
    expect(srv.seen).toHaveLength(1);
    await srv.stop();
  });

  it('when a client library throws a 401, then call() retries once and then rethrows', async () => {
    const credentials = new MemoryCredentials();
    const target = new OutboundTarget({ dependency: 'pacs', credentials });
    const sent: string[] = [];
    const attempt = (h: Record<string, string>): Promise<string> => {
      sent.push(h.authorization ?? '');
      return Promise.reject(Object.assign(new Error('401'), { status: 401 }));
    };
    await expect(target.call(attempt, (e) => (e as { status?: number }).status)).rejects.toMatchObject({ status: 401 });
    expect(sent).toEqual(['Bearer memory-token-1', 'Bearer memory-token-2']);
    // Other failures are not retried.
    sent.length = 0;
    await expect(target.call(() => (sent.push('x'), Promise.reject(Object.assign(new Error('500'), { status: 500 }))), (e) => (e as { status?: number }).status)).rejects.toThrow('500');
    expect(sent).toHaveLength(1);
  });
});

describe('static credentials from a mounted Secret file', () => {
  it('when the file is rotated, then a 401 reads it again and a retry is offered; unchanged, none', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync(`${(await import('node:os')).tmpdir()}/secret-`);
    const file = `${dir}/token`;
    writeFileSync(file, 'first-token\n');
    const credentials = bearerCredentials(Secret.from({ file, key: 'k', fileKey: 'k.tokenFile' }) as Secret);
    const first = await credentials.headers();
    expect(first).toEqual({ authorization: 'Bearer first-token' });
    expect(credentials.rejected(first)).toBe(false);
    writeFileSync(file, 'second-token');
    expect(credentials.rejected(first)).toBe(true);
    expect(await credentials.headers()).toEqual({ authorization: 'Bearer second-token' });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('token refresh time', () => {
  it.each([
    // exp is whole seconds, so one second is taken off first; then 30 s, or a fifth for short lives.
    [3600, 3569_000],
    [300, 269_000],
    [10, 7_200],
    [3, 1_600],
  ])('when a token lives %i s, then it is replaced after %i ms', (ttl, at) => {
    expect(refreshAtMs(0, ttl)).toBe(at);
  });
});

describe('URL credentials and network errors in messages', () => {
  it('when a URL carries user:password, then it is stripped everywhere in the text and can be read back once', () => {
    expect(stripUrlCredentials('orthanc:http://svc:p%40ss@pacs:8042/x and https://a:b@c/')).toBe('orthanc:http://pacs:8042/x and https://c/');
    expect(urlCredentials('dicomweb:https://svc:p%40ss@pacs/dicom-web')).toEqual({ username: 'svc', password: 'p@ss' });
    expect(urlCredentials('https://pacs/dicom-web')).toBeUndefined();
  });

  it('when TLS fails, then the message says what to configure', () => {
    const tlsError = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) });
    expect(describeNetworkError(tlsError)).toMatch(/not signed by a trusted CA; set tls\.caFile/);
    expect(describeNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
  });
});
