import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { syntheticMrSeries } from '../../test/support/synthetic-mr';
import { DicomWebAdapter } from './dicomweb-adapter';

/**
 * FAKE PACS (a mock of a server we cannot run here): one that answers 406 to `transfer-syntax=*`, as some PACS do.
 * Orthanc accepts it, so the fallback path can only be exercised against a stand-in.
 */
function startFakePacsRefusingAnyTransferSyntax(part10: Uint8Array): Promise<{ server: Server; url: string; accepts: string[] }> {
  const accepts: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const accept = String(req.headers.accept ?? '');
    accepts.push(accept);
    if (accept.includes('transfer-syntax=*')) {
      res.writeHead(406).end();
      return;
    }
    const boundary = 'fake-boundary';
    const head = Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    res.end(Buffer.concat([head, Buffer.from(part10), tail]));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accepts }));
  });
}

describe('DicomWebAdapter transfer syntax', () => {
  it('when the PACS refuses transfer-syntax=*, then the adapter retries without it and keeps doing so', async () => {
    const series = syntheticMrSeries({ slices: 1 });
    const file = series.files[0]!;
    const fake = await startFakePacsRefusingAnyTransferSyntax(file);
    try {
      const adapter = new DicomWebAdapter({ url: fake.url });
      const uid = series.sopInstanceUids[0]!;
      const [first] = await adapter.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, [uid]);
      const [second] = await adapter.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, [uid]);
      expect(Buffer.from(first!).equals(Buffer.from(file))).toBe(true);
      expect(Buffer.from(second!).equals(Buffer.from(file))).toBe(true);
      expect(fake.accepts).toEqual([
        'multipart/related; type="application/dicom"; transfer-syntax=*',
        'multipart/related; type="application/dicom"',
        'multipart/related; type="application/dicom"',
      ]);
    } finally {
      fake.server.close();
    }
  });

  it('when the PACS answers with an instance other than the one requested, then PACS_REJECTED', async () => {
    const series = syntheticMrSeries({ slices: 2 });
    const fake = await startFakePacsRefusingAnyTransferSyntax(series.files[1]!);
    try {
      const adapter = new DicomWebAdapter({ url: fake.url });
      await expect(adapter.retrieveInstances(series.studyInstanceUid, series.seriesInstanceUid, [series.sopInstanceUids[0]!])).rejects.toMatchObject({
        code: 'PACS_REJECTED',
      });
    } finally {
      fake.server.close();
    }
  });
});
