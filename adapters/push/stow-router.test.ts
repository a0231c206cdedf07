import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { readPart10, str } from '../../src/dicom/part10';
import { errorHandler, notFound } from '../../src/http/error-handler';
import { silentLogger } from '../../src/logging';
import type { SpaceGate } from '../storage/storage-monitor';
import { ReceivedStore } from './received-store';
import { createStowRouter } from './stow-router';

const SAMPLE_DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'sample-mr', 'dicom');
const sample = (i: number): Buffer => readFileSync(path.join(SAMPLE_DIR, `IM${String(i).padStart(4, '0')}.dcm`));
const uidOf = (b: Buffer, k: string): string => str(readPart10(b).dataset, k) as string;

const BOUNDARY = 'stow-test-boundary';
const CT = `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`;

function multipart(parts: { body: Buffer; type?: string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Type: ${p.type ?? 'application/dicom'}\r\n\r\n`), p.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

interface DicomJsonSeq {
  vr: string;
  Value: Record<string, { vr: string; Value?: (string | number)[] }>[];
}

describe('STOW-RS router (POST /dicomweb/studies)', () => {
  let root: string;
  let store: ReceivedStore;
  let app: express.Express;

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'stow-'));
    store = new ReceivedStore(root, { maxInstanceBytes: 1024 * 1024, logger: silentLogger });
    await store.init();
    app = express();
    app.use('/dicomweb', createStowRouter({ store, maxBodyBytes: 4 * 1024 * 1024, logger: silentLogger }));
    app.use(notFound);
    app.use(errorHandler(silentLogger));
  });

  const keptFiles = (): string[] => readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.dcm')).map((e) => e.name);

  it('when two instances are posted, then 200 lists both in ReferencedSOPSequence and both are on disk', async () => {
    const a = sample(1);
    const b = sample(2);
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(multipart([{ body: a }, { body: b }]));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/dicom\+json/);
    const body = JSON.parse(res.text) as Record<string, DicomJsonSeq>;
    expect(body['00081198']).toBeUndefined();
    expect(body['00081199']?.Value.map((i) => i['00081155']?.Value?.[0])).toEqual([uidOf(a, 'SOPInstanceUID'), uidOf(b, 'SOPInstanceUID')]);
    expect(body['00081199']?.Value[0]?.['00081150']?.Value?.[0]).toBe(uidOf(a, 'SOPClassUID'));
    expect(keptFiles()).toHaveLength(2);
    // Bytes are kept exactly as received.
    await store.index.scan();
    const file = store.index.filesFor(uidOf(a, 'StudyInstanceUID'), uidOf(a, 'SeriesInstanceUID'), [uidOf(a, 'SOPInstanceUID')])[0] as string;
    expect(readFileSync(file).equals(a)).toBe(true);
  });

  it('when the same instance is posted again, then it replaces its file instead of adding one', async () => {
    const body = multipart([{ body: sample(3) }]);
    await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(body).expect(200);
    await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(body).expect(200);
    expect(keptFiles()).toHaveLength(1);
  });

  it('when one part is not DICOM, then 202 with FailureReason C000 for it and the other stored', async () => {
    const res = await request(app)
      .post('/dicomweb/studies')
      .set('Content-Type', CT)
      .send(multipart([{ body: sample(4) }, { body: Buffer.from('this is not a DICOM file') }]));
    expect(res.status).toBe(202);
    const body = JSON.parse(res.text) as Record<string, DicomJsonSeq>;
    expect(body['00081198']?.Value.map((i) => i['00081197']?.Value?.[0])).toEqual([0xc000]);
    expect(body['00081199']?.Value).toHaveLength(1);
    expect(res.headers.warning).toMatch(/1 of 2 instances not stored: part 2: not a DICOM Part 10 file/);
    expect(keptFiles()).toHaveLength(1);
  });

  it('when the path names another study, then 409 with FailureReason A900 and nothing kept', async () => {
    const res = await request(app).post('/dicomweb/studies/1.2.3.4').set('Content-Type', CT).send(multipart([{ body: sample(5) }]));
    expect(res.status).toBe(409);
    const body = JSON.parse(res.text) as Record<string, DicomJsonSeq>;
    const item = body['00081198']?.Value[0];
    expect(item?.['00081197']?.Value?.[0]).toBe(0xa900);
    expect(item?.['00081155']?.Value).toBeUndefined();
    expect(keptFiles()).toHaveLength(0);
  });

  it('when the path names the instance\'s own study, then it is stored', async () => {
    const a = sample(6);
    await request(app).post(`/dicomweb/studies/${uidOf(a, 'StudyInstanceUID')}`).set('Content-Type', CT).send(multipart([{ body: a }])).expect(200);
  });

  it('when a part has another media type, then it fails with C000 naming the type', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(multipart([{ body: Buffer.from('{}'), type: 'application/json' }]));
    expect(res.status).toBe(409);
    expect(res.headers.warning).toContain('Content-Type application/json is not application/dicom');
  });

  it('when the Content-Type is not multipart/related, then 415 with a JSON error that says what to send', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', 'application/dicom').send(sample(1));
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/application\/dicom is not supported: send multipart\/related; type="application\/dicom"/);
  });

  it('when the multipart type is DICOM JSON metadata, then 415', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', `multipart/related; type="application/dicom+json"; boundary=${BOUNDARY}`).send('x');
    expect(res.status).toBe(415);
    expect(res.body.error.message).toContain('only type="application/dicom"');
  });

  it('when the boundary parameter is missing, then 400 saying so', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', 'multipart/related; type="application/dicom"').send('x');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', message: 'Content-Type multipart/related has no boundary parameter' });
  });

  it('when the body stops before its closing delimiter, then 400 and the partial instance is not kept', async () => {
    const whole = multipart([{ body: sample(7) }]);
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(whole.subarray(0, 2000));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('multipart body ended before its closing delimiter');
    expect(keptFiles()).toHaveLength(0);
    expect(readdirSync(path.join(root, '.incoming'))).toHaveLength(0);
  });

  it('when the body has no delimiter at all, then 400 naming the expected boundary', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).send('hello');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(`no part delimited by "--${BOUNDARY}"`);
  });

  it('when the declared body is over the limit, then 413 before reading it', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).set('Content-Length', String(10 * 1024 * 1024)).send('');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('TOO_LARGE');
  });

  it('when a chunked body (no Content-Length) grows over the limit, then 413 and nothing of it is kept', async () => {
    const small = express();
    small.use('/dicomweb', createStowRouter({ store, maxBodyBytes: 50_000, logger: silentLogger }));
    small.use(errorHandler(silentLogger));
    const server = small.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const body = multipart([{ body: sample(8) }, { body: sample(9) }, { body: sample(10) }]);
    try {
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/dicomweb/studies', headers: { 'Content-Type': CT, 'Transfer-Encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        for (let i = 0; i < body.length; i += 8192) req.write(body.subarray(i, i + 8192));
        req.end();
      });
      expect(answer.status).toBe(413);
      expect((JSON.parse(answer.text) as { error: { message: string } }).error.message).toBe('request body exceeds the limit of 50000 bytes');
    } finally {
      server.close();
    }
    expect(readdirSync(path.join(root, '.incoming'))).toHaveLength(0);
  });

  it('when an instance is larger than maxInstanceBytes, then it fails with A700 and the rest is stored', async () => {
    const tiny = new ReceivedStore(root, { maxInstanceBytes: 10_000, logger: silentLogger });
    const app2 = express();
    app2.use('/dicomweb', createStowRouter({ store: tiny, maxBodyBytes: 4 * 1024 * 1024, logger: silentLogger }));
    const res = await request(app2).post('/dicomweb/studies').set('Content-Type', CT).send(multipart([{ body: sample(11) }]));
    expect(res.status).toBe(409);
    expect((JSON.parse(res.text) as Record<string, DicomJsonSeq>)['00081198']?.Value[0]?.['00081197']?.Value?.[0]).toBe(0xa700);
  });

  describe('storage pressure and incomplete studies', () => {
    /** A storage monitor stand-in: `free` decides; reports of a full disk are counted. */
    const gate = (state: { free: boolean; reports: number }): SpaceGate => ({
      spaceAvailable: () => state.free,
      reportNoSpace: () => void state.reports++,
      retryAfterSeconds: () => 30,
      reason: () => 'received dir has 1000 bytes (0.0 MiB) free',
    });
    const appWith = (storage: SpaceGate): express.Express => {
      const a = express();
      a.use('/dicomweb', createStowRouter({ store, maxBodyBytes: 8 * 1024 * 1024, storage, logger: silentLogger }));
      a.use(errorHandler(silentLogger));
      return a;
    };
    const studyOf = (b: Buffer): string => uidOf(b, 'StudyInstanceUID');

    it('when the service is under storage pressure, then 503 with Retry-After and the JSON error, the connection closes, and nothing is kept', async () => {
      const parts = Array.from({ length: 40 }, (_, i) => ({ body: sample(i + 1) }));
      const res = await request(appWith(gate({ free: false, reports: 0 }))).post('/dicomweb/studies').set('Content-Type', CT).send(multipart(parts));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.headers.connection).toBe('close');
      expect(res.body.error).toMatchObject({ code: 'STORAGE_FULL', retryable: true });
      expect(res.body.error.message).toContain('low on disk space (received dir has 1000 bytes (0.0 MiB) free); retry later');
      expect(keptFiles()).toHaveLength(0);
      expect(readdirSync(path.join(root, '.incoming'))).toHaveLength(0);
    });

    it('when a refused request names a study that already has files, then that study is marked incomplete', async () => {
      const a = sample(12);
      await request(app).post('/dicomweb/studies').set('Content-Type', CT).send(multipart([{ body: a }])).expect(200);
      const res = await request(appWith(gate({ free: false, reports: 0 }))).post(`/dicomweb/studies/${studyOf(a)}`).set('Content-Type', CT).send(multipart([{ body: sample(13) }]));
      expect(res.status).toBe(503);
      expect(store.incompleteMark(studyOf(a))?.reason).toBe('a STOW-RS request was refused for lack of disk space (storage pressure); re-send the study');
    });

    it('when pressure begins mid-request, then the parts after it fail with A700 without being written and the study is marked', async () => {
      const state = { free: true, reports: 0 };
      let asked = 0;
      // Asked once for the request and once per part: pressure from the third part on (the disk ran low meanwhile).
      const storage: SpaceGate = { ...gate(state), spaceAvailable: () => asked++ < 3 };
      const parts = [14, 15, 16, 17].map((i) => ({ body: sample(i) }));
      const res = await request(appWith(storage)).post('/dicomweb/studies').set('Content-Type', CT).send(multipart(parts));
      expect(res.status).toBe(202);
      const body = JSON.parse(res.text) as Record<string, DicomJsonSeq>;
      expect(body['00081198']?.Value.map((i) => i['00081197']?.Value?.[0])).toEqual([0xa700, 0xa700]);
      expect(body['00081199']?.Value).toHaveLength(2);
      expect(keptFiles()).toHaveLength(2);
      expect(store.incompleteMark(studyOf(sample(14)))).toMatchObject({ failed: 2, reason: '2 instances of a STOW-RS request were not stored (out of resources); re-send the study' });
      // A clean re-send of the whole study clears it.
      await new Promise((r) => setTimeout(r, 5));
      await request(appWith(gate({ free: true, reports: 0 }))).post('/dicomweb/studies').set('Content-Type', CT).send(multipart(parts)).expect(200);
      expect(store.incompleteMark(studyOf(sample(14)))).toBeUndefined();
    });

    it('when the body ends before its closing boundary after a whole part, then the stored study is marked incomplete', async () => {
      const whole = multipart([{ body: sample(18) }, { body: sample(19) }]);
      const res = await request(appWith(gate({ free: true, reports: 0 }))).post('/dicomweb/studies').set('Content-Type', CT).send(whole.subarray(0, whole.length - 5000));
      expect(res.status).toBe(400);
      expect(keptFiles()).toHaveLength(1);
      expect(store.incompleteMark(studyOf(sample(18)))?.reason).toBe('a STOW-RS request ended before its closing boundary; re-send the study');
    });

    it('when the sender drops the connection mid-body, then the study it stored into is marked incomplete', async () => {
      const server = appWith(gate({ free: true, reports: 0 })).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as AddressInfo;
      const whole = multipart([{ body: sample(21) }, { body: sample(22) }]);
      try {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/dicomweb/studies', headers: { 'Content-Type': CT, 'Transfer-Encoding': 'chunked' } });
        req.on('error', () => undefined);
        req.write(whole.subarray(0, whole.length - 20_000)); // the first part whole, the second half-way
        const study = studyOf(sample(21));
        const deadline = Date.now() + 5000;
        while (keptFiles().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        req.destroy();
        while (!store.incompleteMark(study) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(store.incompleteMark(study)?.reason).toBe('a STOW-RS request lost its connection mid-transfer; re-send the study');
        expect(keptFiles()).toHaveLength(1);
      } finally {
        server.close();
      }
    });

    it('when an unreadable part is refused (C000), then the stored rest of the study is not marked', async () => {
      const res = await request(appWith(gate({ free: true, reports: 0 }))).post('/dicomweb/studies').set('Content-Type', CT).send(multipart([{ body: sample(20) }, { body: Buffer.from('not DICOM') }]));
      expect(res.status).toBe(202);
      expect(store.incompleteMark(studyOf(sample(20)))).toBeUndefined();
    });
  });

  it('when gzip-encoded, then 415 (compressed bodies are refused)', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).set('Content-Encoding', 'gzip').send('x');
    expect(res.status).toBe(415);
  });
});
