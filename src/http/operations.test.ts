import request from 'supertest';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { silentLogger } from '../logging';
import { spec } from '../../test/support/job-store-contract';
import { createApp } from './app';

describe('operations routes', () => {
  it('when the PACS is down and a study is held, then /metrics says so in Prometheus text, and /intake/pending lists the study with its reason', async () => {
    const jobs = new MemoryJobStore();
    const { job } = await jobs.enqueue(spec());
    await jobs.claimNext(new Date());
    await jobs.waitForDependency(job.id, 'pacs', { code: 'PACS_UNAVAILABLE', message: 'down', retryable: true }, new Date());
    const since = new Date(Date.now() - 30_000).toISOString();
    const held = {
      studyInstanceUid: '1.2.3',
      status: 'held' as const,
      event: { studyInstanceUid: '1.2.3', source: 'stow', receivedAt: since },
      firstSeenAt: 0,
      lastChangeAt: 1000,
      fingerprint: 'f',
      instanceCount: 53,
      largestGapMs: 0,
      heldReason: '38 instances were not stored (out of resources)',
      dueAt: 2000,
    };
    const app = createApp({
      jobs,
      fhir: null,
      readiness: [],
      logger: silentLogger,
      operations: {
        dependencies: () => [{ dependency: 'pacs', state: 'open', since, failedProbes: 4 }, { dependency: 'fhir', state: 'closed', failedProbes: 0 }],
        pendingStudies: async () => [held],
        storage: () => ({ state: 'pressure', paths: [{ kind: 'received', freeBytes: 1234 }] }),
      },
    });
    const metrics = await request(app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain('clinical_ai_jobs{state="waiting"} 1');
    expect(metrics.text).toContain('clinical_ai_dependency_up{dependency="pacs"} 0');
    expect(metrics.text).toContain('clinical_ai_dependency_up{dependency="fhir"} 1');
    expect(metrics.text).toMatch(/clinical_ai_dependency_outage_seconds\{dependency="pacs"\} (29|3\d)\./);
    expect(metrics.text).toContain('clinical_ai_studies_pending{status="held"} 1');
    expect(metrics.text).toContain('clinical_ai_storage_pressure 1');
    expect(metrics.text).toContain('clinical_ai_storage_free_bytes{path="received"} 1234');
    const pending = await request(app).get('/intake/pending');
    expect(pending.body.studies).toEqual([expect.objectContaining({ studyInstanceUid: '1.2.3', status: 'held', instances: 53, reason: held.heldReason })]);
    const status = await request(app).get('/status');
    expect(status.body.jobs.waiting).toBe(1);
  });
});
