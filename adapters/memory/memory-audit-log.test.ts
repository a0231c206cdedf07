import { auditLogContract } from '../../test/support/audit-log-contract';
import { MemoryAuditLog } from './memory-audit-log';

auditLogContract('MemoryAuditLog', async () => {
  const log = new MemoryAuditLog();
  return { log, events: async () => [...log.events], close: async () => undefined };
});
