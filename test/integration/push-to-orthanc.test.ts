/**
 * A study pushed by STOW-RS to a service whose PACS is a real Orthanc: the jobs read the pushed files (the study is
 * never in Orthanc) and the SEG goes to Orthanc like any other job's result.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readPart10, str } from '../../src/dicom/part10';
import type { Job } from '../../src/domain/job';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE_DIR = path.join(ROOT, 'test', 'fixtures', 'sample-mr', 'dicom');

describe('STOW-RS push with Orthanc as the PACS', () => {
  let orthanc: TestOrthanc;
  let service: ServiceProcess;

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    service = await startServiceProcess({
      CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
      CLINICAL_AI_PACS_USERNAME: orthanc.username,
      CLINICAL_AI_PACS_PASSWORD: orthanc.password,
      CLINICAL_AI_FHIR: 'none',
      CLINICAL_AI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'push-orthanc-')),
      CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
      CLINICAL_AI_PUSH_QUIET_MS: '300',
      CLINICAL_AI_PUSH_POLL_INTERVAL_MS: '100',
      CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '100',
      CLINICAL_AI_ORTHANC_POLL_INTERVAL_MS: '200',
    });
  });

  afterAll(async () => {
    await service?.stop();
    await orthanc?.stop();
  });

  it('when a study only the service received is pushed, then its jobs read the received files and the SEG lands in Orthanc', async () => {
    const files = Array.from({ length: 16 }, (_, i) => readFileSync(path.join(SAMPLE_DIR, `IM${String(20 + i).padStart(4, '0')}.dcm`)));
    const study = str(readPart10(files[0] as Buffer).dataset, 'StudyInstanceUID') as string;
    const boundary = 'push-to-orthanc';
    const body = Buffer.concat([
      ...files.flatMap((f) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f, Buffer.from('\r\n')]),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${service.url}/dicomweb/studies/${study}`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(200);

    const jobs = await waitFor(
      'jobs to succeed',
      async () => {
        const js = ((await (await fetch(`${service.url}/jobs?study=${study}`)).json()) as { jobs: Job[] }).jobs;
        const failed = js.find((j) => j.state === 'failed');
        if (failed) throw new Error(`job failed: ${JSON.stringify(failed.lastError)}`);
        return js.length === 2 && js.every((j) => j.state === 'succeeded') ? js : undefined;
      },
      60_000,
    );
    expect(jobs.every((j) => j.source === 'stow')).toBe(true);
    // Orthanc holds the SEG series only: the source images were read from the received files, not from the PACS.
    const series = await orthanc.getJson<{ MainDicomTags: { Modality: string } }[]>(`/studies/${(await orthanc.getJson<string[]>('/studies'))[0]}/series`);
    expect(series.map((s) => s.MainDicomTags.Modality)).toEqual(['SEG']);
    const segUid = jobs.find((j) => j.modelId === 'brain-mask-2d')?.result?.segSopInstanceUid;
    expect(segUid).toBeDefined();
  });
});
