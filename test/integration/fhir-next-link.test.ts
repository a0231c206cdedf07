/**
 * A FHIR server's `next` link is followed only below the configured base URL. The "hostile FHIR server" here is a
 * stand-in (a plain HTTP server answering crafted Bundles, named as such): no real FHIR engine sends such links
 * unless misconfigured or compromised, which is the case under test. The trap is another real HTTP server that
 * records every request (and the credentials it carried).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle } from '@medplum/fhirtypes';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { isUnderBaseUrl } from '../../src/domain/urls';

async function listen(handler: (req: IncomingMessage) => unknown): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/fhir+json');
    res.end(JSON.stringify(handler(req)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const page = (entries: number, next?: string): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: Array.from({ length: entries }, (_, i) => ({ resource: { resourceType: 'ImagingStudy', id: `s${i}`, status: 'available', subject: {} } })),
  ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
});

describe('FHIR paging stays on the configured server', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it.each([
    ['another host', (trap: string, _base: string) => `${trap}/fhir/ImagingStudy?page=2`],
    ['the same host, outside the base path', (_trap: string, base: string) => `${new URL(base).origin}/admin/ImagingStudy?page=2`],
    ['a ".." path out of the base', (_trap: string, base: string) => `${base}/../admin?page=2`],
  ])('when a search page links "next" to %s, then it is not fetched and the call fails (FHIR_REJECTED)', async (_what, nextUrl) => {
    const trapped: { url?: string; authorization?: string }[] = [];
    const trap = await listen((req) => {
      trapped.push({ url: req.url, authorization: req.headers.authorization });
      return page(0);
    });
    servers.push(trap.server);
    let base = '';
    const hostile = await listen((req) => {
      if (!req.url?.startsWith('/fhir/')) trapped.push({ url: req.url, authorization: req.headers.authorization });
      return page(1, nextUrl(trap.url, base));
    });
    servers.push(hostile.server);
    base = `${hostile.url}/fhir`;
    const sink = new FhirClientSink({ baseUrl: base, bearerToken: 'secret-bearer-token' });
    await expect(sink.reportsForStudy('1.2.3')).rejects.toMatchObject({ code: 'FHIR_REJECTED', retryable: false, message: expect.stringMatching(/next link outside its base URL/) });
    expect(trapped).toEqual([]);
  });

  it('when the next link stays below the base URL, then the pages are followed', async () => {
    const seen: string[] = [];
    let base = '';
    const server = await listen((req) => {
      seen.push(req.url ?? '');
      return req.url?.includes('page=2') ? page(0) : page(1, `${base}/ImagingStudy?page=2`);
    });
    servers.push(server.server);
    base = `${server.url}/fhir`;
    await new FhirClientSink({ baseUrl: base }).reportsForStudy('1.2.3');
    expect(seen.filter((u) => u.startsWith('/fhir/ImagingStudy'))).toHaveLength(2);
  });

  it('when URLs are compared with a base, then only same origin and a path below the base pass', () => {
    const base = 'https://fhir.example/R4';
    expect(isUnderBaseUrl('https://fhir.example/R4/Patient?x=1', base)).toBe(true);
    expect(isUnderBaseUrl('https://fhir.example/R4', base)).toBe(true);
    expect(isUnderBaseUrl('https://fhir.example/R4x/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('https://fhir.example/R4/../admin', base)).toBe(false);
    expect(isUnderBaseUrl('https://fhir.example/R4/%2e%2e/admin', base)).toBe(false);
    expect(isUnderBaseUrl('http://fhir.example/R4/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('https://fhir.example:444/R4/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('https://user:pw@fhir.example/R4/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('https://evil.example/R4/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('//evil.example/R4/Patient', base)).toBe(false);
    expect(isUnderBaseUrl('/R4/Patient', base)).toBe(true);
  });
});
