import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobStoreContract, spec } from '../../test/support/job-store-contract';
import { SqliteJobStore } from './sqlite-job-store';

jobStoreContract('SqliteJobStore', () => new SqliteJobStore(':memory:'));

describe('SqliteJobStore durability', () => {
  it('when the store is reopened from its file, then jobs and cursors are still there', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'jobs-')), 'jobs.db');
    const first = new SqliteJobStore(file);
    const { job } = await first.enqueue(spec());
    await first.claimNext(new Date());
    await first.setCursor('orthanc', '42');
    await first.close();
    const second = new SqliteJobStore(file);
    expect((await second.get(job.id))?.state).toBe('running');
    expect(await second.requeueInterrupted()).toBe(1);
    expect(await second.getCursor('orthanc')).toBe('42');
    expect((await second.enqueue(spec())).created).toBe(false);
    await second.close();
  });
});
