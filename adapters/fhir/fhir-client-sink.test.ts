import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle } from '@medplum/fhirtypes';
import { FhirClientSink } from './fhir-client-sink';

/**
 * A scripted HTTP server standing in for FHIR servers whose behaviour we cannot produce with the embedded one
 * (no write isolation, 5xx, 409, 422). It records what it received.
 */
async function scriptedServer(answer: (n: number) => { status: number; body: unknown }, delayMs = 0) {
  let inFlight = 0;
  const seen = { maxInFlight: 0, requests: 0, headers: [] as IncomingHttpHeaders[] };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.requests++;
      seen.headers.push(req.headers);
      inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const { status, body } = answer(seen.requests);
        res.writeHead(status, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return { baseUrl, seen, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const bundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [{ fullUrl: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }],
};
const ok = { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '201' } }] } };
const outcome = (text: string) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text } }] });

describe('FhirClientSink', () => {
  it('when the same key is written concurrently, then the calls reach the server one at a time; other keys overlap', async () => {
    const server = await scriptedServer(() => ok, 50);
    const sink = new FhirClientSink({ baseUrl: server.baseUrl });
    await Promise.all([1, 2, 3].map(() => sink.writeTransaction('same-key', bundle)));
    expect(server.seen).toMatchObject({ requests: 3, maxInFlight: 1 });
    await Promise.all(['a', 'b', 'c'].map((k) => sink.writeTransaction(k, bundle)));
    expect(server.seen.maxInFlight).toBeGreaterThan(1);
    await server.stop();
  });

  it.each([
    [503, 'FHIR_UNAVAILABLE', true],
    [429, 'FHIR_UNAVAILABLE', true],
    [409, 'FHIR_REJECTED', true],
    [412, 'FHIR_REJECTED', true],
    [422, 'FHIR_REJECTED', false],
    // Credentials refused (after one fresh try): retryable, not an outage.
    [401, 'FHIR_REJECTED', true],
    [403, 'FHIR_REJECTED', true],
  ])('when the server answers %i, then %s with retryable=%s and the outcome text', async (status, code, retryable) => {
    const server = await scriptedServer(() => ({ status, body: outcome('Observation.code missing') }));
    const sink = new FhirClientSink({ baseUrl: server.baseUrl });
    const err = await sink.writeTransaction('k', bundle).catch((e: unknown) => e);
    expect(err).toMatchObject({ code, retryable });
    expect((err as Error).message).toContain(`HTTP ${status}`);
    expect((err as Error).message).toContain('Observation.code missing');
    await server.stop();
  });

  it('when a failure is followed by a success on the same key, then the lock is released and the retry goes through', async () => {
    const server = await scriptedServer((n) => (n === 1 ? { status: 500, body: outcome('boom') } : ok));
    const sink = new FhirClientSink({ baseUrl: server.baseUrl });
    await expect(sink.writeTransaction('k', bundle)).rejects.toMatchObject({ code: 'FHIR_UNAVAILABLE' });
    await expect(sink.writeTransaction('k', bundle)).resolves.toMatchObject({ type: 'transaction-response' });
    await server.stop();
  });

  it('when basic auth is configured, then every call carries it; a bearer token likewise', async () => {
    const server = await scriptedServer(() => ok);
    await new FhirClientSink({ baseUrl: server.baseUrl, basicAuth: { username: 'u', password: 'p' } }).writeTransaction('k', bundle);
    await new FhirClientSink({ baseUrl: server.baseUrl, bearerToken: 'tok' }).writeTransaction('k', bundle);
    expect(server.seen.headers.map((h) => h.authorization)).toEqual([`Basic ${Buffer.from('u:p').toString('base64')}`, 'Bearer tok']);
    await server.stop();
  });

  it('when the answer is not a transaction-response of the same size, then FHIR_REJECTED', async () => {
    const server = await scriptedServer(() => ({ status: 200, body: { resourceType: 'Bundle', type: 'transaction-response' } }));
    await expect(new FhirClientSink({ baseUrl: server.baseUrl }).writeTransaction('k', bundle)).rejects.toMatchObject({
      code: 'FHIR_REJECTED',
    });
    await server.stop();
  });
});
