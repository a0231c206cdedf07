import { settlingStoreContract } from '../../test/support/settling-store-contract';
import { MemorySettlingStore } from './memory-settling-store';

settlingStoreContract('MemorySettlingStore', () => new MemorySettlingStore());
