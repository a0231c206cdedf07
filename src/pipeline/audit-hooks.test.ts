/**
 * The pipeline's audit hooks: what each stage records, that a failing audit trail never fails a stage, and that a
 * stage without an audit trail behaves as before. Real FHIR engine (embedded store on loopback) and a real folder
 * store; the failing PACS and the failing audit sink are scripted stand-ins, named as such.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FhirClientSink } from '../../adapters/fhir/fhir-client-sink';
import { FolderImagingStore } from '../../adapters/folder/folder-imaging-store';
import { MemoryAuditLog } from '../../adapters/memory/memory-audit-log';
import { MemoryJobStore } from '../../adapters/memory/memory-job-store';
import { describeIssues, fhirErrors } from '../../test/support/fhir-validate';
import { startFhirServer, type TestFhirServer } from '../../test/support/fhir-server';
import { sampleStudyCopy } from '../../test/support/sample-study';
import { readPart10, str } from '../dicom/part10';
import { AppError } from '../domain/errors';
import type { Job } from '../domain/job';
import { silentLogger, type Logger } from '../logging';
import type { AuditLog } from '../ports/audit-log';
import type { JobContext, PipelineDeps } from './context';
import { retrieveSeries } from './stages/retrieve';
import { storeSeg } from './stages/store-seg';
import { supersedePrevious } from './stages/supersede-previous';

const STUDY = '1.2.826.0.1.3680043.8.498.4242';

describe('pipeline audit hooks', () => {
  let fhir: TestFhirServer;
  let jobs: MemoryJobStore;
  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(async () => {
    await fhir?.stop();
  });
  beforeEach(() => {
    jobs = new MemoryJobStore();
  });

  const job = async (key: string): Promise<Job> =>
    (await jobs.enqueue({ idempotencyKey: key, studyInstanceUid: STUDY, seriesInstanceUid: `${STUDY}.1`, instanceUids: [`${STUDY}.1.1`], modelId: 'm', modelVersion: '1', modelDigest: 'd', source: 'test' })).job;
  const ctxOf = (j: Job, deps: Partial<PipelineDeps>, log: Logger = silentLogger): JobContext => ({
    job: j,
    deps: { jobs, fhir: null, logger: log, limits: { maxInstanceBytes: 1 << 30, maxVoxels: 1 << 30 }, ...deps } as unknown as PipelineDeps,
    log,
    model: {} as JobContext['model'],
    enter: async () => {},
  });
  const put = async (resource: { resourceType: string; id: string }): Promise<void> => {
    const r = await fetch(`${fhir.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
    if (!r.ok) throw new Error(`PUT ${resource.resourceType}: ${r.status}`);
  };

  it('when a newer result supersedes an older one, then report-superseded (with the patient) and dicom-deleted are recorded', async () => {
    await put({ resourceType: 'Patient', id: 'p1' });
    for (const id of ['r-a', 'r-b']) {
      await put({ resourceType: 'DiagnosticReport', id, status: 'preliminary', code: { text: 'AI result' }, subject: { reference: 'Patient/p1' } } as never);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'hooks-store-'));
    mkdirSync(path.join(dir, STUDY));
    writeFileSync(path.join(dir, STUDY, '2.25.1.dcm'), 'old SEG');
    const audit = new MemoryAuditLog();
    const deps = { fhir: new FhirClientSink({ baseUrl: fhir.baseUrl }), store: new FolderImagingStore(dir), audit };
    const a = await job('a');
    const b = await job('b');
    await supersedePrevious(ctxOf(a, deps), { reportId: 'r-a', segSopInstanceUid: '2.25.1', segSeriesInstanceUid: '2.25.10' });
    expect(audit.records).toEqual([]);
    await supersedePrevious(ctxOf(b, deps), { reportId: 'r-b', segSopInstanceUid: '2.25.2', segSeriesInstanceUid: '2.25.20' });
    expect(audit.records.map((r) => r.action)).toEqual(['report-superseded', 'dicom-deleted']);
    expect(audit.records[0]).toMatchObject({ patient: 'Patient/p1', agent: { kind: 'service' } });
    expect(audit.records[0]?.entities).toContainEqual(expect.objectContaining({ kind: 'fhir-resource', id: 'DiagnosticReport/r-a' }));
    expect(audit.records[1]?.entities).toContainEqual(expect.objectContaining({ kind: 'dicom-instance', id: '2.25.1' }));
    for (const e of audit.events) expect(describeIssues(fhirErrors(e))).toBe('');
  });

  it('when the audit trail fails, then the SEG is still stored and the failure is logged without the study UID', async () => {
    const [file] = sampleStudyCopy('audit-hooks', { slices: 1 }).files;
    if (!file) throw new Error('no sample');
    const sop = str(readPart10(file).dataset, 'SOPInstanceUID') ?? '';
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const failingAudit: AuditLog = { record: () => Promise.reject(new AppError('STORAGE_FULL', `disk full writing ${STUDY}`)) }; // scripted failure
    const j = await job('c');
    const location = await storeSeg(ctxOf(j, { store: new FolderImagingStore(mkdtempSync(path.join(tmpdir(), 'hooks-'))), audit: failingAudit }, log), file, sop);
    expect(location).toContain(sop);
    expect(lines.filter((l) => l.includes('audit record failed'))).toHaveLength(1);
    expect(lines.join('')).not.toContain(STUDY);
  });

  it('when the SEG is stored, then dicom-stored names the study and the SEG; without an audit trail nothing else changes', async () => {
    const [file] = sampleStudyCopy('audit-hooks-2', { slices: 1 }).files;
    if (!file) throw new Error('no sample');
    const sop = str(readPart10(file).dataset, 'SOPInstanceUID') ?? '';
    const audit = new MemoryAuditLog();
    const j = await job('d');
    const store = new FolderImagingStore(mkdtempSync(path.join(tmpdir(), 'hooks-')));
    expect(await storeSeg(ctxOf(j, { store, audit }), file, sop)).toBe(await storeSeg(ctxOf(j, { store }), file, sop));
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ action: 'dicom-stored', outcome: 'success' });
    expect(audit.records[0]?.entities).toContainEqual(expect.objectContaining({ kind: 'dicom-instance', id: sop }));
  });

  it('when the PACS fails the retrieve, then study-retrieved is recorded as a failure with the code and the error goes on', async () => {
    const audit = new MemoryAuditLog();
    const downPacs = { retrieveInstances: () => Promise.reject(new AppError('PACS_UNAVAILABLE', 'connection refused')) }; // scripted outage
    const j = await job('e');
    await expect(retrieveSeries(ctxOf(j, { source: downPacs as never, audit }))).rejects.toMatchObject({ code: 'PACS_UNAVAILABLE' });
    expect(audit.records).toEqual([expect.objectContaining({ action: 'study-retrieved', outcome: 'minor-failure', outcomeDescription: 'PACS_UNAVAILABLE' })]);
    expect(audit.events[0]?.outcome).toBe('4');
  });
});
