import request from 'supertest';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { silentLogger } from '../logging';
import { spec } from '../../test/support/job-store-contract';
import { createApp } from './app';
import { apiKeyAuthenticator, generateApiKey } from './auth/api-keys';

const operatorKey = generateApiKey();
const viewerKey = generateApiKey();
const TOKEN = operatorKey.key;
const auth = {
  authenticators: [apiKeyAuthenticator([{ id: 'ops', sha256: operatorKey.sha256, roles: ['operator', 'viewer'] }, { id: 'dashboard', sha256: viewerKey.sha256, roles: ['viewer'] }])],
  failedAttemptsPerMinute: 1000,
};

async function failedJobs(jobs: MemoryJobStore, codes: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, code] of codes.entries()) {
    const { job } = await jobs.enqueue(spec({ idempotencyKey: `k${i}` }));
    await jobs.claimNext(new Date());
    await jobs.fail(job.id, { code, message: `${code} happened`, retryable: code.endsWith('UNAVAILABLE') });
    ids.push(job.id);
  }
  return ids;
}

describe('R10.6 operator routes on jobs', () => {
  const appWith = (jobs: MemoryJobStore, onRetried?: () => void) => createApp({ jobs, fhir: null, readiness: [], logger: silentLogger, auth, ...(onRetried ? { onRetried } : {}) });

  it('when the API key does not hold the operator role, then retries are refused with 403 naming the role, and nothing changes', async () => {
    const jobs = new MemoryJobStore();
    const [id] = await failedJobs(jobs, ['BAD_DICOM']);
    const res = await request(appWith(jobs)).post(`/jobs/${id}/retry`).set('x-api-key', viewerKey.key);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('operator role') });
    expect((await jobs.get(id as string))?.state).toBe('failed');
  });

  it('when credentials are missing or wrong, then 401 with WWW-Authenticate or 403, and nothing changes', async () => {
    const jobs = new MemoryJobStore();
    const [id] = await failedJobs(jobs, ['BAD_DICOM']);
    const anonymous = await request(appWith(jobs)).post(`/jobs/${id}/retry`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);
    const unknown = await request(appWith(jobs)).post(`/jobs/${id}/retry`).set('authorization', `Bearer cai_${'y'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(JSON.stringify(unknown.body)).not.toContain('y'.repeat(43));
    expect((await request(appWith(jobs)).post('/jobs/retry').send({ state: 'failed' })).status).toBe(401);
    expect((await jobs.get(id as string))?.state).toBe('failed');
  });

  it('when the operator retries one failed job, then it is queued and the workers are woken; a job not failed answers 409', async () => {
    const jobs = new MemoryJobStore();
    const [id] = await failedJobs(jobs, ['PACS_UNAVAILABLE']);
    let woken = 0;
    const app = appWith(jobs, () => woken++);
    const res = await request(app).post(`/jobs/${id}/retry`).set('authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, state: 'queued', attempts: 0 });
    expect(woken).toBe(1);
    expect((await request(app).post(`/jobs/${id}/retry`).set('authorization', `Bearer ${TOKEN}`)).status).toBe(409);
    expect((await request(app).post('/jobs/nope/retry').set('authorization', `Bearer ${TOKEN}`)).status).toBe(404);
  });

  it('when the operator retries by filter, then only matching failed jobs are queued; an empty or unknown filter is refused', async () => {
    const jobs = new MemoryJobStore();
    const [a, b, c] = await failedJobs(jobs, ['PACS_UNAVAILABLE', 'BAD_DICOM', 'PACS_UNAVAILABLE']);
    const app = appWith(jobs);
    const post = (body: unknown) => request(app).post('/jobs/retry').set('authorization', `Bearer ${TOKEN}`).send(body as object);
    expect((await post({})).status).toBe(400);
    expect((await post({ state: 'running' })).status).toBe(400);
    expect((await post({ state: 'failed', colour: 'red' })).status).toBe(400);
    expect((await post({ state: 'failed', since: 'yesterday' })).status).toBe(400);
    const res = await post({ state: 'failed', code: 'PACS_UNAVAILABLE' });
    expect(res.status).toBe(200);
    expect(res.body.retried).toBe(2);
    expect(res.body.jobs.map((j: { id: string }) => j.id).sort()).toEqual([a, c].sort());
    expect((await jobs.get(b as string))?.state).toBe('failed');
  });

  it('when jobs failed, then the dead letter groups them by reason with what to do, most frequent first', async () => {
    const jobs = new MemoryJobStore();
    await failedJobs(jobs, ['PACS_UNAVAILABLE', 'BAD_DICOM', 'PACS_UNAVAILABLE']);
    const res = await request(appWith(jobs)).get('/jobs/dead-letter').set('x-api-key', viewerKey.key);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.groups.map((g: { code: string; count: number }) => [g.code, g.count])).toEqual([['PACS_UNAVAILABLE', 2], ['BAD_DICOM', 1]]);
    expect(res.body.groups[0].action).toContain('jobs retry');
    expect(res.body.jobs).toHaveLength(3);
  });

  it('when jobs are listed by the new states, then waiting is accepted and unknown states are refused', async () => {
    const jobs = new MemoryJobStore();
    expect((await request(appWith(jobs)).get('/jobs?state=waiting').set('x-api-key', viewerKey.key)).status).toBe(200);
    expect((await request(appWith(jobs)).get('/jobs?state=sleeping').set('x-api-key', viewerKey.key)).status).toBe(400);
  });
});
