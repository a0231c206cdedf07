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

  it('when gzip-encoded, then 415 (compressed bodies are refused)', async () => {
    const res = await request(app).post('/dicomweb/studies').set('Content-Type', CT).set('Content-Encoding', 'gzip').send('x');
    expect(res.status).toBe(415);
  });
});
