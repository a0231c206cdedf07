import type { Bundle, BundleEntry, Observation } from '@medplum/fhirtypes';
import { startFhirServer, type TestFhirServer } from '../../test/support/fhir-server';

function bigTransaction(n: number): Bundle {
  const entries: BundleEntry[] = [
    {
      fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000000',
      resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'p1' }] },
      request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test|p1' },
    },
  ];
  for (let i = 0; i < n; i++) {
    const obs: Observation = {
      resourceType: 'Observation',
      status: 'final',
      identifier: [{ system: 'urn:test:obs', value: `o${i}` }],
      code: { text: `finding ${i}` },
      subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' },
    };
    entries.push({ fullUrl: `urn:uuid:00000000-0000-4000-8000-0000000000${10 + i}`, resource: obs, request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=urn:test:obs|o${i}` } });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

describe('embedded FHIR store: transactions with many conditional creates', () => {
  let server: TestFhirServer;
  beforeAll(async () => {
    server = await startFhirServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const post = async (b: Bundle): Promise<{ status: number; body: Bundle }> => {
    const r = await fetch(server.baseUrl, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(b) });
    return { status: r.status, body: (await r.json()) as Bundle };
  };

  it('when a transaction has 13 conditional creates, then it is accepted (Medplum alone refuses more than 8)', async () => {
    const r = await post(bigTransaction(12));
    expect(r.status).toBe(200);
    expect(r.body.entry).toHaveLength(13);
    expect(r.body.entry?.every((e) => e.response?.status?.startsWith('201'))).toBe(true);
    const obs = (await (await fetch(`${server.baseUrl}/Observation?identifier=urn:test:obs|o5`)).json()) as Bundle;
    const patientRef = (obs.entry?.[0]?.resource as Observation).subject?.reference;
    expect(patientRef).toBe(r.body.entry?.[0]?.response?.location?.replace(/\/_history\/.*$/, '').replace(/^.*\/(Patient\/)/, '$1'));
  });

  it('when the same transaction is posted again, then nothing new is created and every entry answers 200 in order', async () => {
    const r = await post(bigTransaction(12));
    expect(r.status).toBe(200);
    expect(r.body.entry?.map((e) => e.response?.status)).toEqual(Array(13).fill('200 OK'));
    expect(r.body.entry?.[3]?.resource).toMatchObject({ resourceType: 'Observation', identifier: [{ value: 'o2' }] });
    const all = (await (await fetch(`${server.baseUrl}/Observation?_count=100`)).json()) as Bundle;
    expect(all.entry).toHaveLength(12);
  });
});
