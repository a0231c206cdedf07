import type { AuditEvent } from '@medplum/fhirtypes';
import type { Principal } from '../../src/domain/principal';
import type { AuditLog, AuditRecord } from '../../src/ports/audit-log';
import { describeIssues, fhirErrors } from './fhir-validate';

/** An adapter under test and a way to read back what it keeps (file lines, FHIR resources, memory). */
export interface AuditLogUnderTest {
  log: AuditLog;
  /** Every AuditEvent the adapter holds, once what was recorded has reached its store. */
  events(): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

const viewer: Principal = { kind: 'oidc', subject: 'contract-user', issuer: 'https://idp.example', roles: ['viewer'], clientAddress: '10.9.8.7' };
const study = (n: number): string => `1.2.826.0.1.3680043.8.498.${1000 + n}`;

const read = (n: number, id?: string): AuditRecord => ({
  ...(id ? { id } : {}),
  action: 'api-read',
  recorded: new Date(Date.UTC(2026, 11, 3, 12, 0, n)).toISOString(),
  outcome: 'success',
  agent: viewer,
  entities: [{ kind: 'study', id: study(n) }, { kind: 'query', id: `GET /studies/${study(n)}/reports` }],
});

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The behaviour every AuditLog adapter must have; run against each. */
export function auditLogContract(name: string, make: () => Promise<AuditLogUnderTest>): void {
  describe(`${name} (AuditLog contract)`, () => {
    let under: AuditLogUnderTest | undefined;
    afterEach(async () => {
      await under?.close();
      under = undefined;
    });

    it('when records are recorded, then each is kept as a valid R4 AuditEvent under its id, naming the study by UID', async () => {
      under = await make();
      for (let n = 1; n <= 3; n++) await under.log.record(read(n, uuid(n)));
      const events = await under.events();
      expect(events.map((e) => e.id).sort()).toEqual([uuid(1), uuid(2), uuid(3)]);
      for (const e of events) {
        expect(describeIssues(fhirErrors(e))).toBe('');
        expect(e.agent.some((a) => a.who?.identifier?.value === 'contract-user')).toBe(true);
      }
      const first = events.find((e) => e.id === uuid(1));
      expect(first?.entity?.[0]?.what?.identifier?.value).toBe(`urn:oid:${study(1)}`);
    });

    it('when a record has no id, then the adapter gives it a UUID', async () => {
      under = await make();
      await under.log.record(read(7));
      const [event] = await under.events();
      expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it('when 40 records arrive at once, then all 40 are kept, none lost or merged', async () => {
      under = await make();
      const log = under.log;
      await Promise.all(Array.from({ length: 40 }, (_, i) => log.record(read(i, uuid(100 + i)))));
      const ids = (await under.events()).map((e) => e.id);
      expect(new Set(ids).size).toBe(40);
      expect(ids.sort()).toEqual(Array.from({ length: 40 }, (_, i) => uuid(100 + i)).sort());
    });
  });
}
