import { jobStoreContract } from '../../test/support/job-store-contract';
import { MemoryJobStore } from './memory-job-store';

jobStoreContract('MemoryJobStore', () => new MemoryJobStore());
