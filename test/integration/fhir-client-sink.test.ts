import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { AppError } from '../../src/domain/errors';
import { buildResultBundle } from '../../src/fhir/bundle';
import { classificationContext, segmentationContext } from '../support/fhir-contexts';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';
import { describeIssues, fhirErrors } from '../support/fhir-validate';

/** REFERENCE B: results written as one transaction to a real FHIR engine (embedded Medplum router on loopback). */
describe('FhirClientSink against the embedded FHIR server', () => {
  let server: TestFhirServer;
  let dir: string;
  let sink: FhirClientSink;

  async function search(path: string): Promise<Bundle> {
    const res = await fetch(`${server.baseUrl}/${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Bundle;
  }
  const count = async (type: string): Promise<number> => (await search(type)).entry?.length ?? 0;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fhir-it-'));
    server = await startFhirServer({ dataFile: join(dir, 'fhir.ndjson') });
    sink = new FhirClientSink({ baseUrl: server.baseUrl, bearerToken: 'test-token' });
  });
  afterEach(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('when a bundle is written, then the report is found by identifier, by patient with _include, and the study by UID (B.6)', async () => {
    const ctx = segmentationContext();
    const response = await sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx));
    expect(response.type).toBe('transaction-response');

    const byId = await search(`DiagnosticReport?identifier=${encodeURIComponent(`urn:clinical-ai:job|${ctx.idempotencyKey}`)}`);
    expect(byId.entry).toHaveLength(1);
    const report = byId.entry?.[0]?.resource;
    expect(report?.resourceType === 'DiagnosticReport' && report.subject?.reference).toMatch(/^Patient\//);

    const subject = report?.resourceType === 'DiagnosticReport' ? report.subject?.reference : '';
    const withResults = await search(`DiagnosticReport?patient=${subject}&_include=DiagnosticReport:result`);
    expect(withResults.entry?.map((e) => [e.resource?.resourceType, e.search?.mode])).toEqual([
      ['DiagnosticReport', 'match'],
      ['Observation', 'include'],
      ['Observation', 'include'],
    ]);

    const study = await search(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${ctx.study.studyInstanceUid}`)}`);
    expect(study.entry).toHaveLength(1);

    // B.7 on what the server stored (references now resolved to Type/id).
    for (const type of ['Patient', 'Device', 'Endpoint', 'ImagingStudy', 'Observation', 'DiagnosticReport', 'Provenance']) {
      for (const entry of (await search(type)).entry ?? []) {
        expect(`${type}: ${describeIssues(fhirErrors(entry.resource as Resource))}`).toBe(`${type}: `);
      }
    }
  });

  it('when the same bundle is written twice, then there is still one report, study, device, patient and provenance', async () => {
    const ctx = segmentationContext();
    const first = await sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx));
    const second = await sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx));
    expect(second.entry?.map((e) => e.response?.location)).toEqual(first.entry?.map((e) => e.response?.location));
    expect(second.entry?.every((e) => e.response?.status?.startsWith('200'))).toBe(true);
    for (const [type, n] of [['DiagnosticReport', 1], ['ImagingStudy', 1], ['Device', 1], ['Patient', 1], ['Observation', 2], ['Provenance', 1]] as const) {
      expect([type, await count(type)]).toEqual([type, n]);
    }
  });

  it('when two identical jobs write at the same time, then exactly one DiagnosticReport exists (B.8)', async () => {
    const ctx = segmentationContext();
    const other = new FhirClientSink({ baseUrl: server.baseUrl }); // a second sink: no shared in-process lock
    await Promise.all([
      sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx)),
      sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx)),
      other.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx)),
      other.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx)),
    ]);
    expect(await count('DiagnosticReport')).toBe(1);
    expect(await count('Observation')).toBe(2);
    expect(await count('Patient')).toBe(1);
  });

  it('when two models report on one study, then they share the study, patient and device-per-model, and reportsForStudy returns both', async () => {
    const seg = segmentationContext();
    const cls = classificationContext();
    await sink.writeTransaction(seg.idempotencyKey, buildResultBundle(seg));
    await sink.writeTransaction(cls.idempotencyKey, buildResultBundle(cls));
    const elsewhere = segmentationContext('1.2.826.0.1.3680043.8.498.2002');
    await sink.writeTransaction(elsewhere.idempotencyKey, buildResultBundle(elsewhere));

    expect(await count('ImagingStudy')).toBe(2);
    expect(await count('Patient')).toBe(1);
    expect(await count('Device')).toBe(2);

    const found = await sink.reportsForStudy(seg.study.studyInstanceUid);
    expect(found.reports.map((r) => r.identifier?.[0]?.value).sort()).toEqual([seg.idempotencyKey, cls.idempotencyKey].sort());
    expect(found.observations).toHaveLength(4);
    const resultRefs = new Set(found.reports.flatMap((r) => r.result?.map((x) => x.reference) ?? []));
    expect(found.observations.every((o) => resultRefs.has(`Observation/${o.id}`))).toBe(true);
    expect(await sink.reportsForStudy('1.2.3.4.5.404')).toEqual({ reports: [], observations: [] });
  });

  it('when the server restarts on its data file, then the results are still there and a rewrite adds nothing', async () => {
    const ctx = segmentationContext();
    await sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx));
    const dataFile = join(dir, 'fhir.ndjson');
    await server.stop();
    server = await startFhirServer({ dataFile });
    sink = new FhirClientSink({ baseUrl: server.baseUrl });
    expect((await sink.reportsForStudy(ctx.study.studyInstanceUid)).reports).toHaveLength(1);
    await sink.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx));
    expect(await count('DiagnosticReport')).toBe(1);
  });

  it('when the server rejects the bundle (4xx), then FHIR_REJECTED, not retryable, with the outcome text', async () => {
    await sink.ping();
    const bundle = buildResultBundle(segmentationContext());
    bundle.type = 'document';
    const err = await sink.writeTransaction('k', bundle).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'FHIR_REJECTED', retryable: false });
    expect((err as Error).message).toMatch(/HTTP 400.*Unrecognized bundle type/);
  });

  it('when the server is down, then FHIR_UNAVAILABLE and retryable, for writes and ping', async () => {
    await server.stop();
    const down = new FhirClientSink({ baseUrl: server.baseUrl, timeoutMs: 2000 });
    await expect(down.ping()).rejects.toMatchObject({ code: 'FHIR_UNAVAILABLE', retryable: true });
    const ctx = segmentationContext();
    await expect(down.writeTransaction(ctx.idempotencyKey, buildResultBundle(ctx))).rejects.toMatchObject({
      code: 'FHIR_UNAVAILABLE',
      retryable: true,
    });
    server = await startFhirServer(); // afterEach stops it
  });
});
