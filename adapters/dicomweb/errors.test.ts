import { dicomWebError } from './errors';

function clientError(status: number): Error {
  return Object.assign(new Error('request failed'), { status });
}

describe('dicomWebError', () => {
  it('when the PACS cannot be reached (status 0), then PACS_UNAVAILABLE and retryable', () => {
    const e = dicomWebError(clientError(0), 'ping');
    expect([e.code, e.retryable]).toEqual(['PACS_UNAVAILABLE', true]);
  });

  it.each([500, 502, 503, 429, 408])('when the PACS answers %i, then PACS_UNAVAILABLE and retryable', (status) => {
    const e = dicomWebError(clientError(status), 'retrieve instance');
    expect([e.code, e.retryable]).toEqual(['PACS_UNAVAILABLE', true]);
  });

  // Retryable (a rotated secret or token can fix it, the job is not lost) but PACS_REJECTED, so never an outage.
  it.each([401, 403])('when the PACS answers %i, then PACS_REJECTED, retryable, with a credentials hint', (status) => {
    const e = dicomWebError(clientError(status), 'retrieve study metadata');
    expect([e.code, e.retryable]).toEqual(['PACS_REJECTED', true]);
    expect(e.message).toMatch(/credentials/);
  });

  it('when the PACS answers 404, then NOT_FOUND', () => {
    expect(dicomWebError(clientError(404), 'retrieve study metadata').code).toBe('NOT_FOUND');
  });

  it('when the PACS answers another 4xx, then PACS_REJECTED and not retryable', () => {
    const e = dicomWebError(clientError(400), 'store');
    expect([e.code, e.retryable, e.details?.httpStatus]).toEqual(['PACS_REJECTED', false, 400]);
  });

  it('when the client fails to decode a response (no status), then PACS_REJECTED naming the reason', () => {
    const e = dicomWebError(new Error('Response message has no multipart mime header'), 'retrieve instance');
    expect(e.code).toBe('PACS_REJECTED');
    expect(e.message).toMatch(/multipart mime header/);
  });
});
