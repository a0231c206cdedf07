import { settlingStoreContract } from '../../test/support/settling-store-contract';
import { SqliteJobStore } from './sqlite-job-store';
import { SqliteSettlingStore } from './sqlite-settling-store';

settlingStoreContract('SqliteSettlingStore', () => new SqliteSettlingStore(new SqliteJobStore(':memory:').database));
