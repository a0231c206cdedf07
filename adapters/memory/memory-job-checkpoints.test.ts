import { jobCheckpointsContract } from '../../test/support/job-checkpoints-contract';
import { MemoryJobCheckpoints } from './memory-job-checkpoints';

jobCheckpointsContract('MemoryJobCheckpoints', (maxSegBytes) => new MemoryJobCheckpoints({ maxSegBytes }));
