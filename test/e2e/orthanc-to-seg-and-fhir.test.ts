/**
 * End to end with real components: Debian's Orthanc (with its DICOMweb plugin), the FHIR engine on loopback, and the
 * built service as its own process. A study uploaded to Orthanc must end as a SEG in Orthanc and one
 * DiagnosticReport per model in the FHIR server; a crash mid-job and replayed events must change nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Resource } from '@medplum/fhirtypes';
import { decodeFrames } from '../../src/dicom/decode';
import { nums, readPart10, str } from '../../src/dicom/part10';
import type { Job } from '../../src/domain/job';
import { argmaxChannels } from '../../src/inference/argmax';
import { resizeBilinear2d, resizeNearest2d } from '../../src/inference/tensor-ops';
import { WorkerPoolRuntime } from '../../src/inference/worker-pool';
import { loadModels } from '../../src/models/registry';
import { applyIntensity } from '../../src/preprocessing/intensity';
import { intensityOpsOf } from '../../src/preprocessing/prepare';
import { readNifti } from '../../src/synth/nifti';
import { makeSeries } from '../../src/synth/series';
import { startFhirServer, type TestFhirServer } from '../support/fhir-server';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { segFrameRefs, segPixelBytes, unpackSegFrame } from '../support/seg-geometry';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
const sampleFiles = (): Uint8Array[] => readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.dcm')).map((f) => new Uint8Array(readFileSync(path.join(SAMPLE_DIR, f))));

describe('Orthanc study → SEG in Orthanc + FHIR DiagnosticReport (real Orthanc, real FHIR engine, service process)', () => {
  let orthanc: TestOrthanc;
  let fhir: TestFhirServer;
  let service: ServiceProcess | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'e2e-data-'));

  const env = (): Record<string, string> => ({
    CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
    CLINICAL_AI_PACS_USERNAME: orthanc.username,
    CLINICAL_AI_PACS_PASSWORD: orthanc.password,
    CLINICAL_AI_FHIR: fhir.baseUrl,
    CLINICAL_AI_DATA_DIR: dataDir,
    CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
    CLINICAL_AI_ORTHANC_POLL_INTERVAL_MS: '200',
    CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
    CLINICAL_AI_WORKERS_BACKOFF_INITIAL_MS: '200',
    CLINICAL_AI_LOG_LEVEL: 'debug',
  });

  const fhirGet = async <T>(query: string): Promise<T> => {
    const r = await fetch(`${fhir.baseUrl}/${query}`);
    if (!r.ok) throw new Error(`FHIR ${query}: ${r.status}`);
    return (await r.json()) as T;
  };
  const resources = <T extends Resource>(b: Bundle, type: T['resourceType']): T[] =>
    (b.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);

  const jobsOf = async (s: ServiceProcess, study: string): Promise<Job[]> => {
    const r = await fetch(`${s.url}/jobs?study=${study}`);
    return ((await r.json()) as { jobs: Job[] }).jobs;
  };
  const segSeriesInOrthanc = async (study: string): Promise<unknown[]> => {
    const r = await fetch(`${orthanc.dicomWebUrl}/studies/${study}/series?Modality=SEG`, { headers: { Authorization: orthanc.authorization } });
    if (r.status === 204) return [];
    return (await r.json()) as unknown[];
  };
  const fetchInstance = async (sopInstanceUid: string): Promise<Uint8Array> => {
    const found = await fetch(`${orthanc.baseUrl}/tools/lookup`, { method: 'POST', body: sopInstanceUid, headers: { Authorization: orthanc.authorization } });
    const [hit] = (await found.json()) as { ID: string }[];
    if (!hit) throw new Error('instance not in Orthanc');
    const file = await fetch(`${orthanc.baseUrl}/instances/${hit.ID}/file`, { headers: { Authorization: orthanc.authorization } });
    return new Uint8Array(await file.arrayBuffer());
  };
  const reportsByKey = async (key: string): Promise<DiagnosticReport[]> =>
    resources<DiagnosticReport>(await fhirGet<Bundle>(`DiagnosticReport?identifier=${encodeURIComponent(`urn:clinical-ai:job|${key}`)}`), 'DiagnosticReport');

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    fhir = await startFhirServer();
  });

  afterAll(async () => {
    await service?.stop();
    await orthanc?.stop();
    await fhir?.stop();
  });

  it('when the sample MR study is uploaded, then a correct SEG lands in Orthanc and one report per model in FHIR', async () => {
    service = await startServiceProcess(env());
    const files = sampleFiles();
    const studyUid = str(readPart10(files[0] as Uint8Array).dataset, 'StudyInstanceUID') as string;
    for (const f of files) await orthanc.upload(f);

    const jobs = await waitFor('both jobs to succeed', async () => {
      const js = await jobsOf(service as ServiceProcess, studyUid);
      const failed = js.find((j) => j.state === 'failed');
      if (failed) throw new Error(`job failed: ${JSON.stringify(failed.lastError)}`);
      return js.length === 2 && js.every((j) => j.state === 'succeeded') ? js : undefined;
    });

    // (a) the SEG is in Orthanc, found by QIDO on the study with Modality SEG.
    expect(await segSeriesInOrthanc(studyUid)).toHaveLength(1);
    const segJob = jobs.find((j) => j.modelId === 'brain-mask-2d') as Job;
    const segBytes = await fetchInstance(segJob.result?.segSopInstanceUid as string);
    const seg = readPart10(segBytes).dataset;
    expect(str(seg, 'StudyInstanceUID')).toBe(studyUid);

    // Frames reference the right source instances, at their positions.
    const sources = new Map(files.map((b) => {
      const p = readPart10(b);
      return [str(p.dataset, 'SOPInstanceUID') as string, p];
    }));
    const refs = segFrameRefs(seg);
    for (const r of refs) {
      const src = sources.get(r.referencedSopInstanceUid);
      expect(src).toBeDefined();
      expect(r.imagePositionPatient).toEqual(nums(src?.dataset ?? {}, 'ImagePositionPatient', 3));
    }

    // The decoded mask equals the model's output recomputed here: slices sorted by this test along the normal,
    // normalised over the volume as the manifest says, resized to 128², run (raw logits), argmax, resized back.
    const { models } = await loadModels(path.join(ROOT, 'models'));
    const model = models.find((m) => m.manifest.id === 'brain-mask-2d');
    if (!model) throw new Error('model missing');
    const ordered = [...sources.values()].sort(
      (a, b) => (nums(a.dataset, 'ImagePositionPatient', 3)?.[2] ?? 0) - (nums(b.dataset, 'ImagePositionPatient', 3)?.[2] ?? 0),
    );
    const rows = Number(ordered[0]?.dataset.Rows);
    const cols = Number(ordered[0]?.dataset.Columns);
    const volume = new Float32Array(ordered.length * rows * cols);
    ordered.forEach((p, k) => volume.set(decodeFrames(p).frames[0] as Float32Array, k * rows * cols));
    applyIntensity(volume, intensityOpsOf(model.manifest.preprocessing));
    const input = new Float32Array(ordered.length * 128 * 128);
    ordered.forEach((_, k) => resizeBilinear2d(volume.subarray(k * rows * cols, (k + 1) * rows * cols), rows, cols, 128, 128, input.subarray(k * 128 * 128, (k + 1) * 128 * 128)));
    const runtime = new WorkerPoolRuntime({ workers: 1, intraOpThreads: 1 });
    let expectedBySop: Map<string, Uint8Array>;
    try {
      await runtime.load(model);
      const logits = await runtime.run(model.manifest.id, { type: 'float32', dims: [ordered.length, 1, 128, 128], data: input });
      const labels = argmaxChannels(logits.data as Float32Array, logits.dims).data;
      expectedBySop = new Map(ordered.map((p, k) => [str(p.dataset, 'SOPInstanceUID') as string, resizeNearest2d(labels.subarray(k * 128 * 128, (k + 1) * 128 * 128), 128, 128, rows, cols)]));
    } finally {
      await runtime.close();
    }
    const pixels = segPixelBytes(seg);
    const framesSeen = new Set<string>();
    for (const r of refs) {
      framesSeen.add(r.referencedSopInstanceUid);
      const got = unpackSegFrame(pixels, r.frame, rows, cols);
      expect(Buffer.from(got).equals(Buffer.from(expectedBySop.get(r.referencedSopInstanceUid) as Uint8Array))).toBe(true);
    }
    // Slices without a frame must be empty in the model output (empty frames are omitted).
    for (const [sop, mask] of expectedBySop) if (!framesSeen.has(sop)) expect(mask.every((v) => v === 0)).toBe(true);
    expect(framesSeen.size).toBeGreaterThan(30);

    // dciodvfy: no Error lines on the SEG as stored in the PACS.
    const segFile = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-seg-')), 'seg.dcm');
    writeFileSync(segFile, segBytes);
    const v = spawnSync('dciodvfy', ['-new', segFile], { encoding: 'utf8' });
    expect(v.error).toBeUndefined();
    expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => /Error/.test(l))).toEqual([]);

    // (b) exactly one DiagnosticReport per job, referencing ImagingStudy, Observations, and through them the Device.
    for (const job of jobs) {
      const reports = await reportsByKey(job.idempotencyKey);
      expect(reports).toHaveLength(1);
      const report = reports[0] as DiagnosticReport;
      const studyRef = report.imagingStudy?.[0]?.reference as string;
      const imagingStudy = await fhirGet<ImagingStudy>(studyRef);
      expect(imagingStudy.identifier?.[0]).toEqual({ system: 'urn:dicom:uid', value: `urn:oid:${studyUid}` });
      expect(report.result?.length).toBeGreaterThan(0);
      const modelVersion = models.find((m) => m.manifest.id === job.modelId)?.manifest.version;
      expect(modelVersion).toMatch(/^\d+\.\d+\.\d+$/);
      for (const ref of report.result ?? []) {
        const obs = await fhirGet<Observation>(ref.reference as string);
        expect(obs.device?.reference).toMatch(/^Device\//);
        const device = await fhirGet<{ version?: { value?: string }[]; deviceName?: { name: string }[] }>(obs.device?.reference as string);
        expect(device.version?.[0]?.value).toBe(modelVersion);
      }
    }
    // Whichever job wrote the ImagingStudy first, it ends up listing the SEG series and instance.
    const studies = resources<ImagingStudy>(await fhirGet<Bundle>(`ImagingStudy?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${studyUid}`)}`), 'ImagingStudy');
    expect(studies).toHaveLength(1);
    const segSeries = studies[0]?.series?.find((s) => s.uid === segJob.result?.segSeriesInstanceUid);
    expect(segSeries?.instance?.map((i) => i.uid)).toEqual([segJob.result?.segSopInstanceUid]);
    // The service answers the study's reports too.
    const viaService = (await (await fetch(`${service.url}/studies/${studyUid}/reports`)).json()) as Bundle;
    expect(viaService.total).toBe(2);
    // The synthetic patient's name and id appear in no log line.
    expect(service.output.filter((l) => /CLINICAL-AI\^DEMO|DEMO-0001/.test(l))).toEqual([]);
    expect(service.output.some((l) => l.includes('job succeeded'))).toBe(true);
  });

  it('when the service is killed during a job, then after restart the job completes, and replayed events add nothing', async () => {
    // A second study so new jobs start while we watch: a coronal series from Colin27.
    const files = makeSeries(readNifti(readFileSync('/usr/share/mricron/templates/ch2.nii.gz')), {
      plane: 'coronal',
      spacingMm: 1.5,
      patient: { name: 'RESTART^TEST', id: 'RST-1', birthDate: '19700101', sex: 'O' },
      seriesDescription: 'T1 coronal',
      uidSeed: 'e2e-restart',
    });
    const studyUid = str(readPart10(files[0] as Uint8Array).dataset, 'StudyInstanceUID') as string;
    const first = service ?? (await startServiceProcess(env()));
    for (const f of files) await orthanc.upload(f);
    await waitFor('a job to be running', async () => ((await jobsOf(first, studyUid)).some((j) => j.state === 'running') ? true : undefined), 60_000, 20);
    await first.kill();
    service = undefined;
    const interrupted = new Database(path.join(dataDir, 'jobs.db'), { readonly: true });
    const running = interrupted.prepare("SELECT count(*) AS n FROM jobs WHERE study_uid = ? AND state = 'running'").get(studyUid) as { n: number };
    interrupted.close();
    expect(running.n).toBeGreaterThan(0);

    service = await startServiceProcess(env());
    const jobs = await waitFor('jobs to complete after restart', async () => {
      const js = await jobsOf(service as ServiceProcess, studyUid);
      return js.length === 2 && js.every((j) => j.state === 'succeeded') ? js : undefined;
    });
    expect(service.output.some((l) => l.includes('resuming jobs interrupted'))).toBe(true);

    // Replay: identical re-upload, and the Orthanc change log read again from the start.
    for (const f of files.slice(0, 5)) await orthanc.upload(f);
    await service.stop();
    const db = new Database(path.join(dataDir, 'jobs.db'));
    db.prepare("UPDATE cursors SET value = '0'").run();
    db.close();
    service = await startServiceProcess(env());
    await waitFor('the replayed change log to be read', async () => (service?.output.some((l) => l.includes('study routed') && l.includes('"created":0')) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 1500));

    const after = await jobsOf(service, studyUid);
    expect(after.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(after.every((j) => j.state === 'succeeded')).toBe(true);
    expect(await segSeriesInOrthanc(studyUid)).toHaveLength(1);
    for (const job of jobs) expect(await reportsByKey(job.idempotencyKey)).toHaveLength(1);
  });
});
