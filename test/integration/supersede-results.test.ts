/**
 * The supersede policy against the real FHIR engine (embedded Medplum on loopback, through FhirClientSink) and the
 * folder result store, driving the pipeline's own stages (write-fhir, supersede-previous) for jobs of one lineage.
 * REFERENCE.md C: "late instance after stability → re-run and supersede, never a second unlinked result".
 */
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Provenance, Resource } from '@medplum/fhirtypes';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { FolderImagingStore } from '../../adapters/folder/folder-imaging-store';
import { deterministicUid, idempotencyKey } from '../../src/domain/identity';
import type { Job } from '../../src/domain/job';
import type { Config } from '../../src/config';
import { silentLogger } from '../../src/logging';
import type { JobContext, PipelineDeps } from '../../src/pipeline/context';
import { planOutputs, supersedePrevious } from '../../src/pipeline/stages/supersede-previous';
import { writeFhir } from '../../src/pipeline/stages/write-fhir';
import type { JobStore } from '../../src/ports/job-store';
import { REPLACED_BY_EXTENSION, REPORT_REPLACES_EXTENSION } from '../../src/fhir/supersede';
import { segmentationContext } from '../support/fhir-contexts';
import { describeIssues, fhirErrors } from '../support/fhir-validate';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';

// One study per test: the FHIR server is shared, and jobs of equal instance sets would find each other's resources.
let testNumber = 0;
let STUDY = '';
let base = segmentationContext();
let SERIES = '';
let ALL: string[] = [];

describe('supersede-previous stage (real FHIR engine, folder SEG store, memory job store)', () => {
  let fhir: TestFhirServer;
  let jobs: JobStore;
  let resultsDir: string;
  let deps: PipelineDeps;

  const get = async <T>(ref: string): Promise<T> => {
    const r = await fetch(`${fhir.baseUrl}/${ref}`);
    if (!r.ok) throw new Error(`GET ${ref}: ${r.status}`);
    return (await r.json()) as T;
  };

  /** A claimed job of the lineage over the given instances, as the router would create it. */
  const newJob = async (instanceUids: string[]): Promise<Job> => {
    const spec = { studyInstanceUid: STUDY, seriesInstanceUid: SERIES, instanceUids, modelId: base.model.id, modelVersion: base.model.version, modelDigest: base.modelDigest };
    const { job } = await jobs.enqueue({ ...spec, idempotencyKey: idempotencyKey(spec), source: 'test' });
    return job;
  };
  const ctxOf = (job: Job): JobContext => ({
    job,
    deps,
    log: silentLogger,
    model: { manifest: base.model, digest: base.modelDigest, modelPath: '' },
    enter: async () => {},
  });

  /** What the pipeline does after inference: plan, store a SEG file, write FHIR; returns the outputs. */
  const writeOutputs = async (job: Job): Promise<{ reportId: string; segSopInstanceUid: string; segSeriesInstanceUid: string } | 'skipped'> => {
    const ctx = ctxOf(job);
    const plan = await planOutputs(ctx);
    if (plan.kind === 'skip') return 'skipped';
    const segSopInstanceUid = deterministicUid(job.idempotencyKey, 'seg-sop');
    const segSeriesInstanceUid = deterministicUid(job.idempotencyKey, 'seg-series');
    mkdirSync(path.join(resultsDir, STUDY), { recursive: true });
    writeFileSync(path.join(resultsDir, STUDY, `${segSopInstanceUid}.dcm`), 'stand-in for the SEG bytes');
    const findings = { ...(base.findings as Extract<typeof base.findings, { kind: 'segmentation' }>), segSopInstanceUid, segSeriesInstanceUid };
    const study = structuredClone(base.study);
    study.series[0]!.instances = job.instanceUids.map((sopInstanceUid) => ({ sopInstanceUid, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' }));
    study.series.push({ seriesInstanceUid: segSeriesInstanceUid, modality: 'SEG', seriesNumber: 9001, instances: [{ sopInstanceUid: segSopInstanceUid, sopClassUid: findings.segSopClassUid }] });
    const written = await writeFhir(ctx, study, findings, { lineage: 'lineage', ...(plan.replaces ? { replaces: plan.replaces } : {}) });
    return { reportId: written.reportId as string, segSopInstanceUid, segSeriesInstanceUid };
  };
  const segFile = (sop: string): string => path.join(resultsDir, STUDY, `${sop}.dcm`);
  const imagingStudy = async (): Promise<ImagingStudy> => {
    const b = await get<Bundle>(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${STUDY}`)}`);
    expect(b.entry).toHaveLength(1);
    return b.entry?.[0]?.resource as ImagingStudy;
  };

  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(async () => {
    await fhir?.stop();
  });
  beforeEach(() => {
    STUDY = `1.2.826.0.1.3680043.8.498.77.${++testNumber}`;
    base = segmentationContext(STUDY);
    SERIES = base.seriesInstanceUid;
    ALL = [1, 2, 3, 4].map((n) => `${SERIES}.${n}`);
    jobs = new MemoryJobStore();
    resultsDir = mkdtempSync(path.join(tmpdir(), 'supersede-'));
    deps = {
      jobs,
      fhir: new FhirClientSink({ baseUrl: fhir.baseUrl }),
      store: new FolderImagingStore(resultsDir),
      logger: silentLogger,
      results: { reportStatus: 'preliminary', clinicalUseNotice: '', segSeriesNumber: 9001, manufacturer: 'x', deviceSerialNumber: '' } as Config['results'],
    } as unknown as PipelineDeps;
  });

  it('when a late instance gives a newer job, then its report links the old one, and the old report, Observations and SEG are retired', async () => {
    const j1 = await newJob(ALL.slice(0, 3));
    const out1 = await writeOutputs(j1);
    if (out1 === 'skipped') throw new Error('first job skipped');
    expect((await supersedePrevious(ctxOf(j1), out1)).retired).toEqual([]);

    const j2 = await newJob(ALL);
    const out2 = await writeOutputs(j2);
    if (out2 === 'skipped') throw new Error('second job skipped');
    const outcome = await supersedePrevious(ctxOf(j2), out2);
    expect(outcome).toMatchObject({ current: { jobId: j2.id }, retired: [j1.id] });

    const oldReport = await get<DiagnosticReport>(`DiagnosticReport/${out1.reportId}`);
    const newReport = await get<DiagnosticReport>(`DiagnosticReport/${out2.reportId}`);
    expect(oldReport.status).toBe('entered-in-error');
    expect(oldReport.extension).toContainEqual({ url: REPLACED_BY_EXTENSION, valueReference: { reference: `DiagnosticReport/${out2.reportId}` } });
    expect(newReport.status).toBe('preliminary');
    expect(newReport.extension).toEqual([{ url: REPORT_REPLACES_EXTENSION, valueReference: { reference: `DiagnosticReport/${out1.reportId}` } }]);
    for (const ref of oldReport.result ?? []) expect((await get<Observation>(ref.reference as string)).status).toBe('entered-in-error');
    for (const ref of newReport.result ?? []) expect((await get<Observation>(ref.reference as string)).status).toBe('preliminary');
    const provenance = await get<Bundle>(`Provenance?target=${encodeURIComponent(`DiagnosticReport/${out2.reportId}`)}`);
    const entities = (provenance.entry ?? []).flatMap((e) => (e.resource as Provenance).entity ?? []);
    expect(entities).toContainEqual({ role: 'revision', what: { reference: `DiagnosticReport/${out1.reportId}` } });

    // ImagingStudy lists the current SEG only; the old SEG file is gone, the new one is there.
    const series = (await imagingStudy()).series?.map((s) => s.uid);
    expect(series).toContain(out2.segSeriesInstanceUid);
    expect(series).not.toContain(out1.segSeriesInstanceUid);
    expect(existsSync(segFile(out1.segSopInstanceUid))).toBe(false);
    expect(existsSync(segFile(out2.segSopInstanceUid))).toBe(true);

    for (const r of [oldReport, newReport, await imagingStudy()] as Resource[]) expect(describeIssues(fhirErrors(r))).toBe('');
  });

  it('when the retire crashed before it was recorded, then the re-run converges without writing anything twice', async () => {
    const j1 = await newJob(ALL.slice(0, 3));
    const out1 = (await writeOutputs(j1)) as Exclude<Awaited<ReturnType<typeof writeOutputs>>, 'skipped'>;
    await supersedePrevious(ctxOf(j1), out1);
    const j2 = await newJob(ALL);
    const out2 = (await writeOutputs(j2)) as typeof out1;
    // First attempt dies after the FHIR and DICOM steps, before markRetired.
    const realMark = jobs.markRetired.bind(jobs);
    jobs.markRetired = async () => {
      throw new Error('process died');
    };
    await expect(supersedePrevious(ctxOf(j2), out2)).rejects.toThrow('process died');
    jobs.markRetired = realMark;
    const versionsBefore = (await get<DiagnosticReport>(`DiagnosticReport/${out1.reportId}`)).meta?.versionId;
    const studyVersion = (await imagingStudy()).meta?.versionId;

    // The re-run of the job writes the same outputs (conditional creates find them) and retires again: no changes.
    expect(await writeOutputs(j2)).toEqual(out2);
    expect((await supersedePrevious(ctxOf(j2), out2)).retired).toEqual([j1.id]);
    expect((await get<DiagnosticReport>(`DiagnosticReport/${out1.reportId}`)).meta?.versionId).toBe(versionsBefore);
    expect((await imagingStudy()).meta?.versionId).toBe(studyVersion);
    expect((await supersedePrevious(ctxOf(j2), out2)).retired).toEqual([]);
  });

  it('when the older job finishes after the newer one, then the newer stays current and the older result is retired', async () => {
    const older = await newJob(ALL.slice(0, 2));
    const neverStarted = await newJob(ALL.slice(0, 1));
    const newer = await newJob(ALL.slice(0, 3));
    // Both were running; the newer finishes first.
    const outNewer = (await writeOutputs(newer)) as Exclude<Awaited<ReturnType<typeof writeOutputs>>, 'skipped'>;
    await supersedePrevious(ctxOf(newer), outNewer);
    // The older one had already stored its SEG in an earlier attempt, so it writes and then retires itself.
    const olderAfterCrash = { ...older, stage: 'write-fhir' as const };
    const outOlder = (await writeOutputs(olderAfterCrash)) as typeof outNewer;
    const outcome = await supersedePrevious(ctxOf(olderAfterCrash), outOlder);
    expect(outcome).toMatchObject({ current: { jobId: newer.id }, retired: [older.id] });
    expect((await get<DiagnosticReport>(`DiagnosticReport/${outNewer.reportId}`)).status).toBe('preliminary');
    const olderReport = await get<DiagnosticReport>(`DiagnosticReport/${outOlder.reportId}`);
    expect(olderReport.status).toBe('entered-in-error');
    expect(olderReport.extension).toContainEqual({ url: REPLACED_BY_EXTENSION, valueReference: { reference: `DiagnosticReport/${outNewer.reportId}` } });
    expect(existsSync(segFile(outOlder.segSopInstanceUid))).toBe(false);
    expect(existsSync(segFile(outNewer.segSopInstanceUid))).toBe(true);
    expect((await imagingStudy()).series?.map((s) => s.uid)).not.toContain(outOlder.segSeriesInstanceUid);

    // An older job that never got to write anything writes nothing at all.
    expect(await writeOutputs(neverStarted)).toBe('skipped');
  });
});
