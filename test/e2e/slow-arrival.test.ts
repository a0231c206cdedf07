/**
 * Issue #10 acceptance: "24 instances 5 s apart → exactly 1 job per model and 1 report, no withdrawn interim report
 * (default config)". Real Orthanc with StableAge 2 s, so it calls the study stable after every instance; the service
 * runs with its default completion settings and both bundled models.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import type { Job } from '../../src/domain/job';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { sampleStudyCopy } from '../support/sample-study';
import { startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';

const ROOT = path.join(__dirname, '..', '..');

describe('R10.4 a study sent slowly (24 instances, 5 s apart; Orthanc StableAge 2 s; default completion settings)', () => {
  let orthanc: TestOrthanc;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 2 });
  });
  afterAll(async () => {
    await service?.stop();
    await orthanc?.stop();
  });

  it('when the instances arrive 5 s apart, then each model gets exactly 1 job with all 24 and 1 report, none withdrawn', async () => {
    service = await startServiceProcess({
      CLINICAL_AI_PACS: `orthanc:${orthanc.baseUrl}`,
      CLINICAL_AI_PACS_USERNAME: orthanc.username,
      CLINICAL_AI_PACS_PASSWORD: orthanc.password,
      CLINICAL_AI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'slow-')),
      CLINICAL_AI_MODELS_DIR: path.join(ROOT, 'models'),
    });
    const s = service;
    const study = sampleStudyCopy('slow-arrival', { slices: 24 });
    const stableEvents: number[] = [];
    for (const f of study.files) {
      await orthanc.upload(f);
      await new Promise((r) => setTimeout(r, 5000));
      stableEvents.push(s.output.filter((l) => l.includes('study changed again')).length);
    }
    const jobsOf = async (): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs?study=${study.studyInstanceUid}`)).json()) as { jobs: Job[] }).jobs;
    const done = await waitFor('the jobs to succeed', async () => {
      const js = await jobsOf();
      return js.length > 0 && js.every((j) => j.state === 'succeeded') ? js : undefined;
    }, 120_000);
    // Give a late extra routing the chance to show up before counting.
    await new Promise((r) => setTimeout(r, 3000));
    const jobs = await jobsOf();
    expect(jobs).toHaveLength(done.length);
    expect(jobs.map((j) => j.modelId).sort()).toEqual(['brain-mask-2d', 'mr-plane-classifier']);
    expect(jobs.every((j) => j.instanceUids.length === 24)).toBe(true);
    const bundle = (await (await fetch(`${s.url}/studies/${study.studyInstanceUid}/reports?withdrawn=include`)).json()) as Bundle;
    const reports = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport');
    expect(reports.map((r) => r.status)).toEqual(['preliminary', 'preliminary']);
    console.log(`slow-arrival figures: 24 instances 5 s apart, Orthanc StableAge 2 s; ${jobs.length} jobs, ${reports.length} reports, 0 withdrawn; the settler saw the study change ${stableEvents.at(-1)} times after a stable signal`);
  }, 300_000);
});
