import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config';
import { AppError } from './domain/errors';

describe('loadConfig', () => {
  it('when nothing is configured, then every default from the schema applies', () => {
    const c = loadConfig({ env: {}, baseDir: '/srv' });
    expect(c.pacs).toBe('none');
    expect(c.fhir).toBe('embedded');
    expect(c.dataDir).toBe('/srv/var');
    expect(c.inboxDir).toBe('/srv/var/inbox');
    expect(c.http.port).toBe(8080);
    expect(c.workers.maxAttempts).toBe(8);
    expect(c.results.reportStatus).toBe('preliminary');
  });

  it('when file, env and overrides all set a key, then overrides beat env and env beats file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ http: { port: 1000, host: '127.0.0.1' }, workers: { concurrency: 3 } }));
    const c = loadConfig({ file, env: { CLINICAL_AI_HTTP_PORT: '2000', CLINICAL_AI_WORKERS_CONCURRENCY: '4' }, overrides: { workers: { concurrency: 5 } } });
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 2000 });
    expect(c.workers.concurrency).toBe(5);
  });

  it('when several values are wrong, then one error lists all of them', () => {
    let caught: unknown;
    try {
      loadConfig({ env: { CLINICAL_AI_HTTP_PORT: 'eighty', CLINICAL_AI_PACS: 'ftp://x' }, overrides: { bogus: 1, results: { reportStatus: 'amended' } } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    const message = (caught as AppError).message;
    expect(message).toContain('CLINICAL_AI_HTTP_PORT: expected a number');
    expect(message).toContain('pacs: must match pattern');
    expect(message).toContain('"bogus"');
    expect(message).toContain('results.reportStatus');
  });

  it('when the config file is not JSON, then the error names the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ file, env: {} })).toThrow(/broken\.json/);
  });

  it('when storage is not set, then 1 GiB stops intake and 2 GiB resumes it; CLINICAL_AI_STORAGE_* set the keys', () => {
    expect(loadConfig({ env: {} }).storage).toEqual({ minFreeBytes: 1073741824, resumeFreeBytes: 2147483648, checkIntervalMs: 5000 });
    const c = loadConfig({ env: { CLINICAL_AI_STORAGE_MIN_FREE_BYTES: '1000', CLINICAL_AI_STORAGE_RESUME_FREE_BYTES: '2000', CLINICAL_AI_STORAGE_CHECK_INTERVAL_MS: '200' } });
    expect(c.storage).toEqual({ minFreeBytes: 1000, resumeFreeBytes: 2000, checkIntervalMs: 200 });
  });

  it('when storage.resumeFreeBytes is below storage.minFreeBytes, then start-up fails with a config error naming both', () => {
    expect(() => loadConfig({ env: { CLINICAL_AI_STORAGE_MIN_FREE_BYTES: '3000000000' } })).toThrow(
      /storage\.resumeFreeBytes: must be at least storage\.minFreeBytes \(2147483648 < 3000000000\)/,
    );
  });

  it('when inference.device is not set, then it is cpu; CLINICAL_AI_INFERENCE_DEVICE sets cuda; other values are refused', () => {
    expect(loadConfig({ env: {} }).inference.device).toBe('cpu');
    expect(loadConfig({ env: { CLINICAL_AI_INFERENCE_DEVICE: 'cuda' } }).inference.device).toBe('cuda');
    expect(() => loadConfig({ env: { CLINICAL_AI_INFERENCE_DEVICE: 'tpu' } })).toThrow(/inference\.device/);
  });
});
