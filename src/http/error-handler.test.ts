import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { createLogger } from '../logging';
import { errorHandler } from './error-handler';

describe('errorHandler', () => {
  it('when a request under a study UID fails unexpectedly, then the log line names the path with the UID masked and the answer leaks nothing', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } }) });
    const app = express();
    app.post('/dicomweb/studies/:uid', () => {
      throw new Error('boom');
    });
    app.use(errorHandler(logger));
    const res = await request(app).post('/dicomweb/studies/2.25.1234567.89.1');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error', retryable: false, correlationId: expect.any(String) } });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ method: 'POST', path: '/dicomweb/studies/{uid}', msg: 'unhandled error in request' });
    expect(lines.join('')).not.toContain('2.25.1234567');
  });
});
