/**
 * Issue #10 acceptance: a SIGKILL during inference does not change the job's attempt count, and a job killed three
 * times still succeeds (REFERENCE.md C: "SIGKILL during inference → the job resumes after restart; still 1 SEG,
 * 1 report"). The built service as its own process, the folder inbox as intake, the embedded FHIR store.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import type { Job } from '../../src/domain/job';
import { sampleStudyCopy } from '../support/sample-study';
import { freePort, startServiceProcess, waitFor, type ServiceProcess } from '../support/service-process';
import { bundledModelsDir } from '../support/models-dir';


describe('R10.2 SIGKILL during inference (service process, folder inbox, embedded FHIR)', () => {
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it('when the service is killed during inference three times, then the job succeeds at its first attempt with 3 interruptions, 1 SEG and 1 report', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'crash-'));
    const models = bundledModelsDir('crash-models-');
    const study = sampleStudyCopy('crash-resume');
    mkdirSync(path.join(dataDir, 'inbox'), { recursive: true });
    study.files.forEach((f, i) => writeFileSync(path.join(dataDir, 'inbox', `${i}.dcm`), f));
    const port = await freePort();
    const env = {
      CLINICAL_AI_DATA_DIR: dataDir,
      CLINICAL_AI_MODELS_DIR: models,
      CLINICAL_AI_INBOX_QUIET_MS: '200',
      CLINICAL_AI_COMPLETION_QUIET_MS: '200',
      CLINICAL_AI_WORKERS_POLL_INTERVAL_MS: '50',
      CLINICAL_AI_LOG_LEVEL: 'debug',
    };
    const jobs = async (s: ServiceProcess): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs`)).json()) as { jobs: Job[] }).jobs;

    for (let kill = 1; kill <= 3; kill++) {
      service = await startServiceProcess(env, { port });
      const s = service;
      await waitFor('the job to enter inference', async () => (s.output.some((l) => l.includes('"stage":"infer"')) ? true : undefined), 60_000, 5);
      await s.kill();
      service = undefined;
    }
    service = await startServiceProcess(env, { port });
    const s = service;
    const [job] = await waitFor('the job to succeed after three kills', async () => {
      const js = await jobs(s);
      if (js.some((j) => j.state === 'failed')) throw new Error(`failed: ${JSON.stringify(js.map((j) => j.lastError))}`);
      return js.length === 1 && js[0]?.state === 'succeeded' ? js : undefined;
    });
    expect(job).toMatchObject({ state: 'succeeded', attempts: 1, interruptions: 3 });
    expect(s.output.some((l) => l.includes('resuming jobs interrupted by the last shutdown'))).toBe(true);
    expect(readdirSync(path.join(dataDir, 'results', study.studyInstanceUid))).toHaveLength(1);
    const reports = (await (await fetch(`${s.url}/studies/${study.studyInstanceUid}/reports?withdrawn=include`)).json()) as Bundle;
    expect(reports.total).toBe(1);
  }, 240_000);
});
