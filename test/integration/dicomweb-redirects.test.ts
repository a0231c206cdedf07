/**
 * Only the configured PACS base URL is fetched. xhr2 (dicomweb-client's XMLHttpRequest in Node) follows every
 * redirect by itself, to any host and with every header: a PACS answering 302 to another host would get the
 * service, and its Basic credentials, sent there. The "hostile PACS" is a stand-in HTTP server that answers only
 * redirects (named as such); the trap is a real server recording what reaches it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DicomWebAdapter } from '../../adapters/dicomweb/dicomweb-adapter';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('DICOMweb retrieval never leaves the configured base URL', () => {
  const servers: Server[] = [];
  const trapped: { url?: string; authorization?: string }[] = [];
  let trapUrl = '';
  beforeEach(async () => {
    trapped.length = 0;
    const trap = await listen((req, res) => {
      trapped.push({ url: req.url, authorization: req.headers.authorization });
      res.setHeader('content-type', 'application/dicom+json');
      res.end('[]');
    });
    servers.push(trap.server);
    trapUrl = trap.url;
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function hostilePacs(location: (base: string) => string): Promise<{ base: string; seen: string[] }> {
    const seen: string[] = [];
    let base = '';
    const pacs = await listen((req, res) => {
      seen.push(req.url ?? '');
      if (req.url?.startsWith('/dicom-web/moved/')) {
        res.setHeader('content-type', 'application/dicom+json');
        res.end('[]');
        return;
      }
      res.statusCode = 302;
      res.setHeader('location', location(base));
      res.end();
    });
    servers.push(pacs.server);
    base = `${pacs.url}/dicom-web`;
    return { base, seen };
  }

  it.each([
    ['another host', () => `${trapUrl}/dicom-web/studies/1.2.3/metadata`],
    ['the same host outside the DICOMweb root', (base: string) => `${new URL(base).origin}/tools/secret`],
  ])('when the PACS redirects to %s, then the redirect is not followed and the credentials go nowhere else', async (_what, location) => {
    const { base, seen } = await hostilePacs(location);
    const adapter = new DicomWebAdapter({ url: base, auth: { username: 'clinical-ai', password: 'pacs-secret' }, timeoutMs: 5000 });
    await expect(adapter.getStudy('1.2.3')).rejects.toMatchObject({ message: expect.stringMatching(/redirected outside its configured base URL/) });
    expect(trapped).toEqual([]);
    expect(seen).toEqual(['/dicom-web/studies/1.2.3/metadata']);
  });

  it('when the PACS redirects below its DICOMweb root, then the redirect is followed', async () => {
    const { base, seen } = await hostilePacs((b) => `${b}/moved/studies/1.2.3/metadata`);
    const adapter = new DicomWebAdapter({ url: base, timeoutMs: 5000 });
    // The moved answer is an empty study: NOT_FOUND proves the second request was made and answered.
    await expect(adapter.getStudy('1.2.3')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(seen).toEqual(['/dicom-web/studies/1.2.3/metadata', '/dicom-web/moved/studies/1.2.3/metadata']);
  });

  it('when a study UID from the PACS is not a UID (e.g. "../../tools"), then nothing is fetched (BAD_DICOM)', async () => {
    const { base, seen } = await hostilePacs(() => trapUrl);
    const adapter = new DicomWebAdapter({ url: base, timeoutMs: 5000 });
    await expect(adapter.getStudy('../../tools/x')).rejects.toMatchObject({ code: 'BAD_DICOM' });
    await expect(adapter.retrieveInstances('1.2.3', '1.2.3.4', ['1.2/../../x'])).rejects.toMatchObject({ code: 'BAD_DICOM' });
    expect(seen).toEqual([]);
  });
});
