/**
 * Issue #11 audit trail, on the real service (startService in this process) with a real Orthanc and the embedded FHIR
 * store: one study's path (retrieved from the PACS, SEG stored, report written) and API access (a viewer reads its
 * reports, an anonymous caller is refused) end as BALP-shaped AuditEvents in the embedded store that validate as R4,
 * and the same events, by id, in the JSON-lines file. Application logs name neither the study nor the patient.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { loadConfig } from '../../src/config';
import type { Job } from '../../src/domain/job';
import { generateApiKey } from '../../src/http/auth/api-keys';
import { createLogger } from '../../src/logging';
import { startService, type RunningService } from '../../src/service';
import { describeIssues, fhirErrors } from '../support/fhir-validate';
import { startOrthanc, type TestOrthanc } from '../support/orthanc';
import { sampleStudyCopy } from '../support/sample-study';
import { waitFor } from '../support/service-process';
import { bundledModelsDir } from '../support/models-dir';


describe('R11 audit trail of one study (real Orthanc, embedded FHIR store, service in process)', () => {
  let orthanc: TestOrthanc;
  let service: RunningService | undefined;
  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
  });
  afterAll(async () => {
    await service?.stop(2000);
    await orthanc?.stop();
  });

  it('when a study runs and its reports are read, then retrieve, SEG store, report write, the read and a refusal are R4 AuditEvents in FHIR and the file', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'audit-svc-'));
    const models = bundledModelsDir('audit-svc-models-');
    const viewer = generateApiKey();
    const config = loadConfig({
      env: {},
      overrides: {
        pacs: `orthanc:${orthanc.baseUrl}`,
        pacsUsername: orthanc.username,
        pacsPassword: orthanc.password,
        fhir: 'embedded',
        dataDir,
        modelsDir: models,
        completion: { quietMs: 200 },
        orthanc: { pollIntervalMs: 200 },
        workers: { pollIntervalMs: 50 },
        http: { host: '127.0.0.1', port: 0 },
        auth: { apiKeys: [{ id: 'dashboard', sha256: viewer.sha256, roles: ['viewer'] }] },
        audit: { retryInitialMs: 50, retryMaxMs: 500 },
        logLevel: 'debug',
      },
    });
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }) });
    const study = sampleStudyCopy('audit-trail', { slices: 20 });
    for (const f of study.files) await orthanc.upload(f);
    service = await startService(config, logger);
    const s = service;
    const headers = { 'x-api-key': viewer.key };

    const jobs = async (): Promise<Job[]> => ((await (await fetch(`${s.url}/jobs?study=${study.studyInstanceUid}`, { headers })).json()) as { jobs: Job[] }).jobs;
    const [job] = await waitFor('the job to succeed', async () => {
      const js = await jobs();
      if (js.some((j) => j.state === 'failed')) throw new Error(`failed: ${JSON.stringify(js.map((j) => j.lastError))}`);
      return js.length === 1 && js[0]?.state === 'succeeded' ? js : undefined;
    }, 150_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${lines.filter((l) => /"level":(40|50)/.test(l)).slice(-15).join('')}`);
    });
    const reports = (await (await fetch(`${s.url}/studies/${study.studyInstanceUid}/reports`, { headers })).json()) as Bundle;
    expect(reports.total).toBe(1);
    expect((await fetch(`${s.url}/fhir/Patient`)).status).toBe(401);

    const auditEvents = async (): Promise<AuditEvent[]> => {
      const b = (await (await fetch(`${s.url}/fhir/AuditEvent?_count=1000`, { headers })).json()) as Bundle;
      return (b.entry ?? []).map((e) => e.resource as AuditEvent);
    };
    const uidValue = `urn:oid:${study.studyInstanceUid}`;
    const aboutStudy = (e: AuditEvent): boolean => (e.entity ?? []).some((x) => x.what?.identifier?.value === uidValue);
    const code = (e: AuditEvent): string => `${e.type.code}/${e.action}`;
    const events = await waitFor('the AuditEvents to reach the embedded store', async () => {
      const all = await auditEvents();
      const found = all.filter(aboutStudy).map(code);
      const refused = all.some((e) => e.type.code === '110114');
      const read = all.some((e) => e.type.code === 'rest' && e.action === 'E' && aboutStudy(e) && e.agent.some((a) => a.who?.identifier?.value === 'dashboard'));
      return ['110104/R', '110104/C', 'rest/C'].every((c) => found.includes(c)) && refused && read ? all : undefined;
    }, 30_000).catch(async (err: unknown) => {
      const all = await auditEvents();
      const raw = await (await fetch(`${s.url}/fhir/AuditEvent?_count=1000`, { headers })).text();
      const files = readdirSync(dataDir);
      throw new Error(`${String(err)}\nraw: ${raw.slice(0, 500)}\nfiles: ${files.join(',')} ${files.includes('audit') ? readdirSync(path.join(dataDir, 'audit')).join(',') : ''}\nAuditEvents: ${JSON.stringify(all.map((e) => [code(e), e.subtype?.[0]?.code, aboutStudy(e)]))}\naudit log lines: ${lines.filter((l) => l.includes('audit')).join('')}`);
    });

    for (const e of events) expect(`${e.id}: ${describeIssues(fhirErrors(e))}`).toBe(`${e.id}: `);
    const written = events.find((e) => aboutStudy(e) && code(e) === 'rest/C');
    expect(written?.entity?.some((x) => x.what?.reference === `DiagnosticReport/${job?.result?.reportId ?? ''}`)).toBe(true);
    expect(written?.entity?.some((x) => x.role?.code === '1' && x.what?.reference?.startsWith('Patient/'))).toBe(true);
    const stored = events.find((e) => aboutStudy(e) && code(e) === '110104/C');
    expect(stored?.entity?.some((x) => x.what?.identifier?.value === `urn:oid:${job?.result?.segSopInstanceUid ?? ''}`)).toBe(true);
    const read = events.find((e) => e.type.code === 'rest' && aboutStudy(e) && e.agent.some((a) => a.who?.identifier?.value === 'dashboard'));
    expect(read?.agent.some((a) => a.network?.address === '127.0.0.1')).toBe(true);
    // The service's own writes to its /fhir are not recorded again as API writes, and AuditEvent PUTs not at all.
    expect(events.filter((e) => e.agent.some((a) => a.who?.identifier?.value === 'clinical-ai') && e.type.code === 'rest' && e.subtype?.[0]?.code === 'update' && !e.entity?.some((x) => x.what?.reference?.startsWith('DiagnosticReport/')))).toEqual([]);

    // The same events, by id, in the JSON-lines file (which holds at least what FHIR has).
    const auditDir = path.join(dataDir, 'audit');
    const fileIds = new Set(
      readdirSync(auditDir)
        .filter((f) => f.endsWith('.jsonl'))
        .flatMap((f) => readFileSync(path.join(auditDir, f), 'utf8').split('\n').filter(Boolean))
        .map((l) => (JSON.parse(l) as AuditEvent).id),
    );
    for (const e of events) expect(fileIds.has(e.id)).toBe(true);

    // Audit records carry the identifiers; the application log does not.
    const log = lines.join('\n');
    expect(log).not.toContain(study.studyInstanceUid);
    expect(log).not.toContain(job?.result?.segSopInstanceUid ?? 'no SEG UID');
  }, 240_000);
});
