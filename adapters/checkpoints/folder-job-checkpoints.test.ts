import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/logging';
import { checkpoint, jobCheckpointsContract } from '../../test/support/job-checkpoints-contract';
import { FolderJobCheckpoints } from './folder-job-checkpoints';

const fresh = (maxSegBytes = 1024, spaceAvailable?: () => boolean): { dir: string; store: FolderJobCheckpoints } => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'checkpoints-'));
  return { dir, store: new FolderJobCheckpoints(dir, { maxSegBytes, logger: silentLogger, ...(spaceAvailable ? { spaceAvailable } : {}) }) };
};

jobCheckpointsContract('FolderJobCheckpoints', (maxSegBytes) => fresh(maxSegBytes).store);

describe('FolderJobCheckpoints files', () => {
  it('when the checkpoint file is torn (not JSON), then there is no checkpoint and the job recomputes', async () => {
    const { dir, store } = fresh();
    await store.save('job-1', checkpoint());
    writeFileSync(path.join(dir, 'job-1', 'checkpoint.json'), '{"idempotencyKey":"key-1","stu');
    expect(await store.load('job-1', 'key-1')).toBeUndefined();
  });

  it('when the data disk is under its watermark, then nothing is written', async () => {
    const { dir, store } = fresh(1024, () => false);
    expect(await store.save('job-1', checkpoint())).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('when a job id could escape the folder, then it is refused', async () => {
    const { store } = fresh();
    await expect(store.save('../evil', checkpoint())).rejects.toThrow(/not a job id/);
  });

  it('when saved, then no temporary file is left behind', async () => {
    const { dir, store } = fresh();
    await store.save('job-1', checkpoint({ seg: { sha256: 'x', bytes: 3 } }), new Uint8Array([1, 2, 3]));
    expect(readdirSync(path.join(dir, 'job-1')).sort()).toEqual(['checkpoint.json', 'seg.dcm']);
  });
});
