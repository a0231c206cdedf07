/**
 * REFERENCE.md C, issue #5 scope 1: a late instance after stability makes Orthanc emit StableStudy again; the
 * service re-runs and supersedes (one current SEG, the new report linked to the old, the old withdrawn), and an
 * identical re-upload creates nothing. Real Orthanc (StableAge 1 s, OverwriteInstances so a re-upload emits
 * StableStudy again), the real FHIR engine, the built service as its own process, one model (brain-mask-2d).
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Provenance, Resource } from '@medplum/fhirtypes';
import { nums, readPart10, str } from '../../src/dicom/part10';
import type { Job } from '../../src/domain/job';
import { REPLACED_BY_EXTENSION, REPORT_REPLACES_EXTENSION } from '../../src/fhir/supersede';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';
import { describeIssues, fhirErrors } from '../support/fhir-validate';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { bundledModelsDir } from '../support/models-dir';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

/** The sample series sorted along the slice axis; the last slice is the "late" one (leaving out an end slice keeps the spacing even). */
function sampleSlices(): Uint8Array[] {
  const files = readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.dcm')).map((f) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, f))));
  const z = (b: Uint8Array): number => nums(readPart10(b).dataset, 'ImagePositionPatient', 3)?.[2] ?? 0;
  return files.sort((a, b) => z(a) - z(b));
}

describe('late instance after stability → superseded result; identical re-upload → nothing new (real Orthanc, FHIR, service)', () => {
  let orthanc: TestOrthanc;
  let fhir: TestFhirServer;
  let service: ServiceProcess | undefined;

  const fhirGet = async <T>(query: string): Promise<T> => {
    const r = await fetch(`${fhir.baseUrl}/${query}`);
    if (!r.ok) throw new Error(`FHIR ${query}: ${r.status}`);
    return (await r.json()) as T;
  };
  const jobsOf = async (study: string): Promise<Job[]> =>
    ((await (await fetch(`${(service as ServiceProcess).url}/jobs?study=${study}`)).json()) as { jobs: Job[] }).jobs;
  const segSeriesInOrthanc = async (study: string): Promise<string[]> => {
    const r = await fetch(`${orthanc.dicomWebUrl}/studies/${study}/series?Modality=SEG`, { headers: { Authorization: orthanc.authorization } });
    if (r.status === 204) return [];
    return ((await r.json()) as { '0020000E'?: { Value?: string[] } }[]).map((s) => s['0020000E']?.Value?.[0] ?? '');
  };
  const instanceInOrthanc = async (sopInstanceUid: string): Promise<boolean> => {
    const r = await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: sopInstanceUid, headers: { Authorization: orthanc.authorization } });
    return ((await r.json()) as unknown[]).length > 0;
  };
  const routedWithNothingNew = (s: ServiceProcess, from: number): boolean =>
    s.output.slice(from).some((l) => l.includes('study routed') && l.includes('"created":0'));

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1, overwriteInstances: true });
    fhir = await startFhirServer();
  });
  afterAll(async () => {
    await service?.stop();
    await orthanc?.stop();
    await fhir?.stop();
  });

  it('when one slice arrives after the study was processed, then the new result replaces the old; re-sending everything adds nothing', async () => {
    const modelsDir = bundledModelsDir('e2e-models-');
    service = await startServiceProcess({
      CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
      CLINICAL_AI_PACS_USERNAME: orthanc.username,
      CLINICAL_AI_PACS_PASSWORD: orthanc.password,
      CLINICAL_AI_FHIR: fhir.baseUrl,
      CLINICAL_AI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'e2e-supersede-')),
      CLINICAL_AI_MODELS_DIR: modelsDir,
      CLINICAL_AI_ORTHANC_POLL_INTERVAL_MS: '200',
      CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
      CLINICAL_AI_LOG_LEVEL: 'debug',
    });
    const slices = sampleSlices();
    const late = slices[slices.length - 1] as Uint8Array;
    const studyUid = str(readPart10(late).dataset, 'StudyInstanceUID') as string;

    // 1. All but the last slice: one job, one SEG, one report.
    for (const f of slices.slice(0, -1)) await orthanc.upload(f);
    const [first] = await waitFor('the first job to succeed', async () => {
      const js = await jobsOf(studyUid);
      if (js.some((j) => j.state === 'failed')) throw new Error(`job failed: ${JSON.stringify(js.map((j) => j.lastError))}`);
      return js.length === 1 && js[0]?.state === 'succeeded' ? js : undefined;
    });
    const j1 = first as Job;
    expect(j1.instanceUids).toHaveLength(slices.length - 1);
    expect(await segSeriesInOrthanc(studyUid)).toEqual([j1.result?.segSeriesInstanceUid]);

    // 2. The late slice: Orthanc emits StableStudy again, a second job runs on the whole series and supersedes.
    const orthancStudyId = (await orthanc.upload(late)).ParentStudy;
    const j2 = await waitFor('the superseding job to succeed', async () => {
      const js = await jobsOf(studyUid);
      if (js.some((j) => j.state === 'failed')) throw new Error(`job failed: ${JSON.stringify(js.map((j) => j.lastError))}`);
      const next = js.find((j) => j.id !== j1.id);
      return js.length === 2 && next?.state === 'succeeded' ? next : undefined;
    });
    expect(j2.instanceUids).toHaveLength(slices.length);
    expect(j2.result?.supersededBy).toBeUndefined();

    // Exactly one SEG for the lineage in Orthanc: the new one; the old instance is deleted.
    expect(await segSeriesInOrthanc(studyUid)).toEqual([j2.result?.segSeriesInstanceUid]);
    expect(await instanceInOrthanc(j1.result?.segSopInstanceUid as string)).toBe(false);
    expect(await instanceInOrthanc(j2.result?.segSopInstanceUid as string)).toBe(true);

    // FHIR: the new report replaces the old (R4 extension + Provenance revision); the old one and its Observations are withdrawn.
    const oldReport = await fhirGet<DiagnosticReport>(`DiagnosticReport/${j1.result?.reportId}`);
    const newReport = await fhirGet<DiagnosticReport>(`DiagnosticReport/${j2.result?.reportId}`);
    expect(newReport.status).toBe('preliminary');
    expect(newReport.extension).toContainEqual({ url: REPORT_REPLACES_EXTENSION, valueReference: { reference: `DiagnosticReport/${j1.result?.reportId}` } });
    expect(oldReport.status).toBe('entered-in-error');
    expect(oldReport.extension).toContainEqual({ url: REPLACED_BY_EXTENSION, valueReference: { reference: `DiagnosticReport/${j2.result?.reportId}` } });
    const oldObservations = await Promise.all((oldReport.result ?? []).map((r) => fhirGet<Observation>(r.reference as string)));
    const newObservations = await Promise.all((newReport.result ?? []).map((r) => fhirGet<Observation>(r.reference as string)));
    expect(oldObservations.length).toBeGreaterThan(0);
    expect(oldObservations.every((o) => o.status === 'entered-in-error')).toBe(true);
    expect(newObservations.every((o) => o.status === 'preliminary')).toBe(true);
    const provenances = await fhirGet<Bundle>(`Provenance?target=${encodeURIComponent(`DiagnosticReport/${j2.result?.reportId}`)}`);
    const provenance = provenances.entry?.[0]?.resource as Provenance;
    expect(provenance.entity).toContainEqual({ role: 'revision', what: { reference: `DiagnosticReport/${j1.result?.reportId}` } });

    // The ImagingStudy lists the current SEG and no longer the old one.
    const studies = await fhirGet<Bundle>(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${studyUid}`)}`);
    expect(studies.entry).toHaveLength(1);
    const imagingStudy = studies.entry?.[0]?.resource as ImagingStudy;
    const seriesUids = imagingStudy.series?.map((s) => s.uid);
    expect(seriesUids).toContain(j2.result?.segSeriesInstanceUid);
    expect(seriesUids).not.toContain(j1.result?.segSeriesInstanceUid);

    // Every resource as stored passes R4 validation.
    for (const r of [oldReport, newReport, ...oldObservations, ...newObservations, provenance, imagingStudy] as Resource[]) {
      expect(`${r.resourceType}/${r.id}: ${describeIssues(fhirErrors(r))}`).toBe(`${r.resourceType}/${r.id}: `);
    }
    // The service lists the current report only (with its Observations); the withdrawn one on request.
    const reportsVia = async (query: string): Promise<{ statuses: (string | undefined)[]; observations: string[] }> => {
      const bundle = (await (await fetch(`${service?.url}/studies/${studyUid}/reports${query}`)).json()) as Bundle;
      const resources = (bundle.entry ?? []).map((e) => e.resource);
      return {
        statuses: resources.filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport').map((r) => r.status).sort(),
        observations: resources.filter((r) => r?.resourceType === 'Observation').map((r) => `Observation/${r?.id}`).sort(),
      };
    };
    const current = await reportsVia('');
    expect(current.statuses).toEqual(['preliminary']);
    expect(current.observations).toEqual(newObservations.map((o) => `Observation/${o.id}`).sort());
    expect((await reportsVia('?withdrawn=include')).statuses).toEqual(['entered-in-error', 'preliminary']);

    // 3. Identical re-upload of every slice: Orthanc (OverwriteInstances) emits StableStudy again; the routing finds
    // the same idempotency key, so no job, no SEG, no report is added.
    // First let the StableStudy caused by storing the new SEG be routed, so the line awaited below is the re-upload's.
    await waitFor('the study to be stable', async () => ((await orthanc.getJson<{ IsStable: boolean }>(`/studies/${orthancStudyId}`)).IsStable ? true : undefined));
    await waitFor('routing to go quiet', async () => {
      const n = service?.output.filter((l) => l.includes('study routed')).length;
      await new Promise((r) => setTimeout(r, 1000));
      return n === service?.output.filter((l) => l.includes('study routed')).length ? true : undefined;
    });
    const before = service.output.length;
    for (const f of slices) await orthanc.upload(f);
    await waitFor('the re-sent study to be routed', async () => (routedWithNothingNew(service as ServiceProcess, before) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await jobsOf(studyUid);
    expect(after.map((j) => j.id).sort()).toEqual([j1.id, j2.id].sort());
    expect(await segSeriesInOrthanc(studyUid)).toEqual([j2.result?.segSeriesInstanceUid]);
    const reportCount = ((await (await fetch(`${service.url}/studies/${studyUid}/reports?withdrawn=include`)).json()) as Bundle).total;
    expect(reportCount).toBe(2);
    expect((await fhirGet<DiagnosticReport>(`DiagnosticReport/${j2.result?.reportId}`)).status).toBe('preliminary');
  }, 180_000);
});
