/**
 * Push intake through the built service (its own process, embedded defaults: folder SEG store + embedded FHIR):
 * a study sent by STOW-RS (hand-built multipart body, fetch) and one sent by DCMTK's storescu each end as a SEG file
 * and a DiagnosticReport per model; the received files are removed after success and kept after a failure; a
 * re-sent identical study creates no new job; a calling AE title not on the list is refused.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import type { Job } from '../../src/domain/job';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { dcmtk } from '../support/dcmtk';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');
/** 16 contiguous slices: the brain-mask model's minSlices, so both reference models run. */
const slicePaths = (from: number): string[] => Array.from({ length: 16 }, (_, i) => path.join(SAMPLE_DIR, `IM${String(from + i).padStart(4, '0')}.dcm`));
const uidOf = (file: string, keyword: string): string => str(readPart10(readFileSync(file)).dataset, keyword) as string;

/** Copies of sample slices as a new study (new Study/Series/SOP Instance UIDs); optionally one slice in another frame of reference. */
async function newStudy(from: number, studyUid: string, options: { oddFrameOfReference?: boolean } = {}): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'push-study-'));
  const files = slicePaths(from).map((src) => {
    const dst = path.join(dir, path.basename(src));
    copyFileSync(src, dst);
    return dst;
  });
  const r = await dcmtk('dcmodify', ['-nb', '-gin', '-m', `(0020,000d)=${studyUid}`, '-m', `(0020,000e)=${studyUid}.1`, ...files]);
  if (r.code !== 0) throw new Error(`dcmodify failed: ${r.output}`);
  if (options.oddFrameOfReference) {
    const odd = await dcmtk('dcmodify', ['-nb', '-m', `(0020,0052)=${studyUid}.99`, files[7] as string]);
    if (odd.code !== 0) throw new Error(`dcmodify failed: ${odd.output}`);
  }
  return files;
}

function multipartBody(files: string[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const f of files) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), readFileSync(f), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe('push intake (STOW-RS and C-STORE) through the service process', () => {
  let service: ServiceProcess;
  let dimsePort: number;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'push-data-'));
  const receivedDir = path.join(dataDir, 'received');

  const jobsOf = async (study: string): Promise<Job[]> => ((await (await fetch(`${service.url}/jobs?study=${study}`)).json()) as { jobs: Job[] }).jobs;
  const settled = (study: string, expected: number) => async (): Promise<Job[] | undefined> => {
    const js = await jobsOf(study);
    return js.length === expected && js.every((j) => j.state === 'succeeded' || j.state === 'failed') ? js : undefined;
  };
  /** Study folders in the received dir (names are hashes; only the count and presence matter here). */
  const receivedStudies = (): string[] => (existsSync(receivedDir) ? readdirSync(receivedDir).filter((n) => !n.startsWith('.')) : []);
  const stow = async (files: string[]): Promise<Response> => {
    const boundary = `b${Date.now()}`;
    return fetch(`${service.url}/dicomweb/studies`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`, Accept: 'application/dicom+json' },
      body: multipartBody(files, boundary),
    });
  };

  let configFile: string;
  const start = (): Promise<ServiceProcess> =>
    startServiceProcess({
      CLINICAL_AI_CONFIG: configFile,
      CLINICAL_AI_DATA_DIR: dataDir,
      CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
      CLINICAL_AI_LOG_LEVEL: 'info',
    });

  beforeAll(async () => {
    dimsePort = await freePort();
    configFile = path.join(dataDir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        push: { quietMs: 400, pollIntervalMs: 100 },
        dimse: { enabled: true, port: dimsePort, aeTitle: 'CLINICALAI', allowedCallingAeTitles: ['MODALITY1'] },
        workers: { pollIntervalMs: 100 },
      }),
    );
    service = await start();
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('when a study is pushed by STOW-RS, then 200, a SEG file and one DiagnosticReport per model, and its received files are removed', async () => {
    const files = slicePaths(30);
    const study = uidOf(files[0] as string, 'StudyInstanceUID');
    const res = await stow(files);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/dicom\+json/);
    const body = (await res.json()) as Record<string, { Value: unknown[] }>;
    expect(body['00081199']?.Value).toHaveLength(16);

    const jobs = await waitFor('STOW jobs to finish', settled(study, 2), 60_000);
    expect(jobs.map((j) => [j.modelId, j.state, j.source]).sort()).toEqual([
      ['brain-mask-2d', 'succeeded', 'stow'],
      ['mr-plane-classifier', 'succeeded', 'stow'],
    ]);
    const segPath = jobs.find((j) => j.modelId === 'brain-mask-2d')?.result?.segPath as string;
    expect(readPart10(readFileSync(segPath)).dataset.Modality).toBe('SEG');
    const reports = (await (await fetch(`${service.url}/studies/${study}/reports`)).json()) as { total: number };
    expect(reports.total).toBe(2);
    await waitFor('received files removed after success', async () => (receivedStudies().length === 0 ? true : undefined), 10_000);
  });

  it('when the same study is pushed again, then no new job is created and the files are removed again', async () => {
    const files = slicePaths(30);
    const study = uidOf(files[0] as string, 'StudyInstanceUID');
    expect((await stow(files)).status).toBe(200);
    expect(receivedStudies()).toHaveLength(1);
    await waitFor('re-sent study routed and cleaned up', async () => (receivedStudies().length === 0 ? true : undefined), 15_000);
    expect(await jobsOf(study)).toHaveLength(2);
    expect(service.output.filter((l) => l.includes('"study routed"') && l.includes('"created":0')).length).toBeGreaterThanOrEqual(1);
  });

  it('when a study is pushed by storescu, then the jobs say dimse and produce a SEG and reports', async () => {
    const study = '2.25.4711000000000000000000000000000001';
    const files = await newStudy(40, study);
    const r = await dcmtk('storescu', ['-aet', 'MODALITY1', '-aec', 'CLINICALAI', '127.0.0.1', String(dimsePort), ...files]);
    expect(r.code).toBe(0);
    const jobs = await waitFor('C-STORE jobs to finish', settled(study, 2), 60_000);
    expect(jobs.every((j) => j.state === 'succeeded' && j.source === 'dimse')).toBe(true);
    const segPath = jobs.find((j) => j.modelId === 'brain-mask-2d')?.result?.segPath as string;
    expect(str(readPart10(readFileSync(segPath)).dataset, 'StudyInstanceUID')).toBe(study);
    const reports = (await (await fetch(`${service.url}/studies/${study}/reports`)).json()) as { total: number };
    expect(reports.total).toBe(2);
    await waitFor('received files removed after success', async () => (receivedStudies().length === 0 ? true : undefined), 10_000);
  });

  it('when the calling AE title is not on the allowed list, then storescu is refused and nothing is received', async () => {
    const r = await dcmtk('storescu', ['-aet', 'UNKNOWN', '-aec', 'CLINICALAI', '127.0.0.1', String(dimsePort), slicePaths(60)[0] as string]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Calling AE Title Not Recognized/i);
    await new Promise((r) => setTimeout(r, 300));
    expect(receivedStudies()).toHaveLength(0);
  });

  it('when the jobs of a pushed study fail, then its received files are kept (keepFailedHours)', async () => {
    const study = '2.25.4711000000000000000000000000000002';
    const files = await newStudy(50, study, { oddFrameOfReference: true });
    expect((await stow(files)).status).toBe(200);
    const jobs = await waitFor('failing jobs to settle', settled(study, 2), 60_000);
    expect(jobs.every((j) => j.state === 'failed' && j.lastError?.code === 'GEOMETRY')).toBe(true);
    // Several assembly ticks later the files are still there.
    await new Promise((r) => setTimeout(r, 1000));
    expect(receivedStudies()).toHaveLength(1);
    expect(readdirSync(path.join(receivedDir, receivedStudies()[0] as string)).filter((f) => f.endsWith('.dcm'))).toHaveLength(16);
  });

  it('when the service is killed right after acknowledging a STOW-RS push, then after a restart the study is processed', async () => {
    const study = '2.25.4711000000000000000000000000000003';
    const files = await newStudy(60, study);
    expect((await stow(files)).status).toBe(200);
    await service.kill(); // most likely before the quiet period ended, so before any job existed
    const studyDir = path.join(receivedDir, createHash('sha256').update(study).digest('hex').slice(0, 32));
    expect(readdirSync(studyDir).filter((f) => f.endsWith('.dcm'))).toHaveLength(16);
    service = await start();
    const jobs = await waitFor('jobs after restart', settled(study, 2), 60_000);
    expect(jobs.every((j) => j.state === 'succeeded' && j.source === 'stow')).toBe(true);
  });

  it('when the service is stopped (SIGTERM), then it exits 0 and the C-STORE port no longer answers', async () => {
    expect(await service.stop()).toBe(0);
    const r = await dcmtk('echoscu', ['-aet', 'MODALITY1', '-aec', 'CLINICALAI', '127.0.0.1', String(dimsePort)]);
    expect(r.code).not.toBe(0);
    expect(service.output.some((l) => l.includes('"stopped"'))).toBe(true);
  });
});
