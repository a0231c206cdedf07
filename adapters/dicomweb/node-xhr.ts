import type { IncomingMessage } from 'node:http';
import type https from 'node:https';
import XMLHttpRequest from 'xhr2';
import { isUnderBaseUrl } from '../../src/domain/urls';

export interface NodeXhrOptions {
  /** Milliseconds before a request is abandoned (0 = none). */
  timeoutMs: number;
  /**
   * Appends `transfer-syntax=*` to dicomweb-client's Accept header for Part 10 retrieval, so the PACS sends
   * instances as stored instead of transcoding them to Explicit VR Little Endian (the DICOMweb default).
   * dicomweb-client 0.11 cannot ask for it itself: passing mediaTypes to retrieveInstance throws.
   */
  anyTransferSyntax: boolean;
  /** Credentials of this request (from the PACS's outbound target), set last so nothing overrides them. */
  authHeaders?: Record<string, string>;
  /** TLS of the PACS (CA bundle, client certificate); undefined = Node's defaults. */
  httpsAgent?: https.Agent;
  /** Redirects are followed only to URLs below this one (the configured DICOMweb root); undefined = none. */
  baseUrl?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const PART10_ACCEPT = 'multipart/related; type="application/dicom"';

/**
 * The XMLHttpRequest dicomweb-client uses in Node: xhr2 with a timeout, the transfer-syntax choice, the PACS's
 * credentials and TLS agent, and the socket/TLS error kept for the error message (xhr2 reports only status 0).
 */
export function createNodeXhr(options: NodeXhrOptions): XMLHttpRequest {
  class DicomWebXhr extends XMLHttpRequest {
    networkError: unknown;

    override send(data?: unknown): void {
      for (const [name, value] of Object.entries(options.authHeaders ?? {})) super.setRequestHeader(name, value);
      super.send(data);
    }

    override _onHttpRequestError(request: unknown, error: unknown): void {
      this.networkError = error;
      super._onHttpRequestError(request, error);
    }

    // xhr2 follows every redirect itself, to any host, sending every header again (credentials included): a
    // hostile or compromised PACS could send us, with them, anywhere. Only a Location below the configured base
    // URL is followed; any other fails the request like a network error.
    override _onHttpResponse(request: unknown, response: IncomingMessage): void {
      if (REDIRECTS.has(response.statusCode ?? 0)) {
        let target = '';
        try {
          target = new URL(response.headers.location ?? '', this._url?.href ?? options.baseUrl).href;
        } catch {
          /* not a URL: refused below */
        }
        if (!options.baseUrl || !target || !isUnderBaseUrl(target, options.baseUrl)) {
          response.resume();
          this._onHttpRequestError(request, new Error('the PACS redirected outside its configured base URL; not followed'));
          return;
        }
      }
      super._onHttpResponse(request, response);
    }

    override setRequestHeader(name: string, value: string): void {
      if (options.anyTransferSyntax && name.toLowerCase() === 'accept' && value === PART10_ACCEPT) {
        super.setRequestHeader(name, `${value}; transfer-syntax=*`);
        return;
      }
      super.setRequestHeader(name, value);
    }
  }
  const xhr = new DicomWebXhr();
  if (options.httpsAgent) xhr.nodejsSet({ httpsAgent: options.httpsAgent });
  xhr.timeout = options.timeoutMs;
  return xhr;
}
