import type { ImagingStudy } from '@medplum/fhirtypes';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';

describe('FhirClientSink.updateResource (read-modify-write with If-Match) on the embedded FHIR server', () => {
  let server: TestFhirServer;
  let sink: FhirClientSink;
  let reference = '';

  beforeAll(async () => {
    server = await startFhirServer();
    sink = new FhirClientSink({ baseUrl: server.baseUrl });
    const r = await fetch(`${server.baseUrl}/ImagingStudy`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'ImagingStudy', status: 'available', subject: { display: 'x' }, description: 'start' }),
    });
    reference = `ImagingStudy/${((await r.json()) as ImagingStudy).id}`;
  });
  afterAll(async () => {
    await server.stop();
  });

  const read = async (): Promise<ImagingStudy> => (await (await fetch(`${server.baseUrl}/${reference}`)).json()) as ImagingStudy;

  /** Another writer changes the description between our read and our write. */
  async function competingWrite(current: ImagingStudy): Promise<void> {
    const { meta: _meta, ...body } = current;
    const r = await fetch(`${server.baseUrl}/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...body, description: 'changed by another writer' }),
    });
    if (!r.ok) throw new Error(`competing write failed: ${r.status}`);
  }

  it('when another writer changes the resource between our read and our write, then ours is re-applied on top of theirs', async () => {
    const seen: string[] = [];
    await sink.updateResource<ImagingStudy>(reference, async (current) => {
      seen.push(current.description ?? '');
      if (seen.length === 1) await competingWrite(current);
      return { ...current, numberOfSeries: 7 };
    });
    expect(seen).toEqual(['start', 'changed by another writer']);
    const after = await read();
    expect(after).toMatchObject({ description: 'changed by another writer', numberOfSeries: 7 });
  });

  it('when the change function returns undefined, then nothing is written', async () => {
    const before = await read();
    await sink.updateResource<ImagingStudy>(reference, () => undefined);
    expect((await read()).meta?.versionId).toBe(before.meta?.versionId);
  });
});
