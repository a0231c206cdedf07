import dcmjs from 'dcmjs';
import { api } from 'dicomweb-client';
import { AppError } from '../../src/domain/errors';
import { assertValidUid } from '../../src/domain/uid';
import { logHash } from '../../src/domain/identity';
import type { StudyInfo } from '../../src/domain/study';
import { looksLikePart10 } from '../../src/dicom/part10';
import { silentLogger, type Logger } from '../../src/logging';
import type { ImagingSource } from '../../src/ports/imaging-source';
import type { ImagingStore, StoreOutcome } from '../../src/ports/imaging-store';
import { parseStowResponse, studyInfoFromMetadata, type DicomJsonDataset, type StowOutcome } from './dicom-json';
import { dicomWebError, errorResponseBody, httpStatusOf } from './errors';
import { createNodeXhr } from './node-xhr';
import { OutboundTarget } from '../outbound-auth/outbound-target';

export type DicomWebAuth = { username: string; password: string } | { bearerToken: string };

export interface DicomWebConfig {
  /** Service root, e.g. http://pacs:8042/dicom-web (QIDO, WADO and STOW below it). */
  url: string;
  auth?: DicomWebAuth;
  /** The PACS's outbound target (credentials, TLS); every request goes through it. Default: from auth. */
  target?: OutboundTarget;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Per-request timeout (ms); default 60 s. */
  timeoutMs?: number;
  /** Parallel instance retrievals; default 4. */
  retrieveConcurrency?: number;
  /**
   * true: ask the PACS for its default transfer syntax (Explicit VR Little Endian), i.e. let it transcode.
   * false (default): ask for `transfer-syntax=*` and decode compressed syntaxes locally.
   */
  transcode?: boolean;
  logger?: Logger;
}

/** The part of dicomweb-client's DICOMwebClient this adapter uses (its shipped typings are incomplete). */
interface DicomWebClientCalls {
  searchForStudies(options: { queryParams?: Record<string, string>; request: RequestOptions }): Promise<unknown>;
  retrieveStudyMetadata(options: { studyInstanceUID: string; request: RequestOptions }): Promise<unknown>;
  retrieveInstance(options: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string; request: RequestOptions }): Promise<unknown>;
  storeInstances(options: { studyInstanceUID?: string; datasets: ArrayBuffer[]; request: RequestOptions }): Promise<unknown>;
}
interface RequestOptions {
  instance: unknown;
}

/** SOP Instance UID of a Part 10 file, read from its header only (stops at (0008,0018)). */
export function sopInstanceUidOf(part10: Uint8Array): string | undefined {
  if (!looksLikePart10(part10)) return undefined;
  try {
    const buffer = part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer;
    const dict = dcmjs.data.DicomMessage.readFile(buffer, { untilTag: '00080018', includeUntilTagValue: true, ignoreErrors: true });
    const fromDataset = dict.dict['00080018']?.Value?.[0];
    const fromMeta = dict.meta['00020003']?.Value?.[0];
    const uid = typeof fromDataset === 'string' ? fromDataset : typeof fromMeta === 'string' ? fromMeta : undefined;
    return uid?.replace(/\0/g, '').trim() || undefined;
  } catch {
    return undefined;
  }
}

function toBytes(part: unknown): Uint8Array | undefined {
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  return undefined;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * ImagingSource and ImagingStore over DICOMweb (QIDO-RS, WADO-RS, STOW-RS), using dicomweb-client with xhr2 as its
 * XMLHttpRequest. Instances are retrieved one request each, asking for `transfer-syntax=*` so the PACS sends them as
 * stored; if the PACS refuses that (HTTP 400/406), the adapter falls back to the default (Explicit VR LE) for good.
 * With `transcode: true` it asks for that default from the start, so the PACS does the decompression.
 */
export class DicomWebAdapter implements ImagingSource, ImagingStore {
  private readonly client: DicomWebClientCalls;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly logger: Logger;
  private readonly target: OutboundTarget;
  private anyTransferSyntax: boolean;

  constructor(private readonly config: DicomWebConfig) {
    this.anyTransferSyntax = config.transcode !== true;
    this.timeoutMs = config.timeoutMs ?? 60_000;
    this.concurrency = config.retrieveConcurrency ?? 4;
    this.logger = config.logger ?? silentLogger;
    this.target = config.target ?? OutboundTarget.legacy('pacs', config.auth);
    this.client = new api.DICOMwebClient({
      url: config.url.replace(/\/+$/, ''),
      // Credentials are per request (node-xhr.ts), from the target: a token may change between requests.
      headers: { ...config.headers },
      verbose: false,
      singlepart: false,
    }) as unknown as DicomWebClientCalls;
  }

  get url(): string {
    return this.config.url;
  }

  /** One dicomweb-client call through the PACS's target: its credentials and TLS, a 401 retried once. */
  private send<T>(call: (request: RequestOptions) => Promise<T>): Promise<T> {
    return this.target.call(
      (authHeaders) =>
        call({ instance: createNodeXhr({ timeoutMs: this.timeoutMs, anyTransferSyntax: this.anyTransferSyntax, authHeaders, baseUrl: this.config.url, ...(this.target.httpsAgent ? { httpsAgent: this.target.httpsAgent } : {}) }) }),
      httpStatusOf,
    );
  }

  async ping(): Promise<void> {
    try {
      await this.send((request) => this.client.searchForStudies({ queryParams: { limit: '1' }, request }));
    } catch (err) {
      const appError = dicomWebError(err, 'ping (QIDO studies)');
      // ping promises PACS_UNAVAILABLE; keep the auth hint in the message.
      throw appError.code === 'PACS_UNAVAILABLE'
        ? appError
        : new AppError('PACS_UNAVAILABLE', appError.message, { cause: err, details: appError.details, retryable: appError.retryable });
    }
  }

  async getStudy(studyInstanceUid: string): Promise<StudyInfo> {
    // The UID goes into the URL path: one from a QIDO answer such as "../x" must not reach another path of the PACS.
    assertValidUid(studyInstanceUid, 'StudyInstanceUID');
    const details = { study: logHash(studyInstanceUid) };
    let metadata: unknown;
    try {
      metadata = await this.send((request) => this.client.retrieveStudyMetadata({ studyInstanceUID: studyInstanceUid, request }));
    } catch (err) {
      throw dicomWebError(err, 'retrieve study metadata', details);
    }
    // 204 answers [] through the client; a study with no instances is as good as absent.
    if (!Array.isArray(metadata) || metadata.length === 0) {
      throw new AppError('NOT_FOUND', 'DICOMweb retrieve study metadata: the PACS has no instances for this study', { details });
    }
    return studyInfoFromMetadata(studyInstanceUid, metadata as DicomJsonDataset[]);
  }

  async retrieveInstances(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUids: readonly string[]): Promise<Uint8Array[]> {
    return mapLimited(sopInstanceUids, this.concurrency, (sop) => this.retrieveOne(studyInstanceUid, seriesInstanceUid, sop));
  }

  private async retrieveOne(study: string, series: string, sop: string): Promise<Uint8Array> {
    // These come from the PACS's metadata and go into the URL path: digits and dots only.
    assertValidUid(study, 'StudyInstanceUID');
    assertValidUid(series, 'SeriesInstanceUID');
    assertValidUid(sop, 'SOPInstanceUID');
    const details = { study: logHash(study), series: logHash(series), instance: logHash(sop) };
    let part: unknown;
    try {
      part = await this.send((request) => this.client.retrieveInstance({ studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop, request }));
    } catch (err) {
      const status = httpStatusOf(err);
      if (this.anyTransferSyntax && (status === 400 || status === 406)) {
        this.anyTransferSyntax = false;
        this.logger.warn({ httpStatus: status }, 'PACS refused transfer-syntax=*; retrieving with its default transfer syntax (it may transcode)');
        return this.retrieveOne(study, series, sop);
      }
      throw dicomWebError(err, 'retrieve instance', details);
    }
    const bytes = toBytes(part);
    if (!bytes || !looksLikePart10(bytes)) {
      throw new AppError('PACS_REJECTED', 'DICOMweb retrieve instance: the PACS answered without a DICOM Part 10 instance', { details, retryable: false });
    }
    if (sopInstanceUidOf(bytes) !== sop) {
      throw new AppError('PACS_REJECTED', 'DICOMweb retrieve instance: the PACS answered with a different instance than requested', { details, retryable: false });
    }
    return bytes;
  }

  async store(studyInstanceUid: string, instances: readonly Uint8Array[]): Promise<StoreOutcome> {
    const details = { study: logHash(studyInstanceUid), instances: instances.length };
    const expected = instances.map((bytes, index) => {
      const uid = sopInstanceUidOf(bytes);
      if (!uid) throw new AppError('BAD_DICOM', `instance ${index + 1} of ${instances.length} to store is not a DICOM Part 10 file with a SOP Instance UID`, { details });
      return uid;
    });
    const url = `${this.config.url.replace(/\/+$/, '')}/studies/${studyInstanceUid}`;
    let body: unknown;
    try {
      const datasets = instances.map((bytes) => bytes.slice().buffer as ArrayBuffer);
      body = await this.send((request) => this.client.storeInstances({ studyInstanceUID: studyInstanceUid, datasets, request }));
    } catch (err) {
      const appError = dicomWebError(err, 'store instances (STOW-RS)', details);
      // A 4xx/409 STOW answer often says which instances failed and why; put that in the message.
      const status = httpStatusOf(err);
      const isAuth = status === 401 || status === 403;
      if (appError.code === 'PACS_REJECTED' && !isAuth && status !== undefined) {
        throw rejection(parseStowBody(errorResponseBody(err)), expected, { ...details, httpStatus: status }, err);
      }
      if (appError.code === 'NOT_FOUND') throw new AppError('PACS_REJECTED', `${appError.message}; is the STOW-RS URL right?`, { cause: err, details, retryable: false });
      throw appError;
    }
    const outcome = parseStowBody(body);
    const referenced = new Set(outcome.referenced);
    if (outcome.failed.length > 0 || expected.some((uid) => !referenced.has(uid))) throw rejection(outcome, expected, details);
    return { stored: expected, location: url };
  }
}

function parseStowBody(body: unknown): StowOutcome {
  let json: unknown = body;
  if (typeof body === 'string') {
    try {
      json = body.trim() === '' ? undefined : JSON.parse(body);
    } catch {
      json = undefined;
    }
  } else if (body instanceof ArrayBuffer) {
    return parseStowBody(Buffer.from(body).toString('utf8'));
  }
  return parseStowResponse(json && typeof json === 'object' && !Array.isArray(json) ? (json as DicomJsonDataset) : undefined);
}

function rejection(outcome: StowOutcome, expected: readonly string[], details: Record<string, unknown>, cause?: unknown): AppError {
  const referenced = new Set(outcome.referenced);
  const missing = expected.filter((uid) => !referenced.has(uid) && !outcome.failed.some((f) => f.sopInstanceUid === uid));
  const reasons = outcome.failed.map((f, i) => `instance ${f.sopInstanceUid ? logHash(f.sopInstanceUid) : `#${i + 1}`}: ${f.reason}`);
  if (missing.length > 0) reasons.push(`${missing.length} instance(s) not acknowledged in ReferencedSOPSequence`);
  const status = typeof details.httpStatus === 'number' ? ` (HTTP ${details.httpStatus})` : '';
  const message = `STOW-RS: the PACS did not store ${outcome.failed.length + missing.length} of ${expected.length} instance(s)${status}: ${reasons.join('; ') || 'no reason given'}`;
  return new AppError('PACS_REJECTED', message, {
    cause,
    retryable: false,
    details: { ...details, failed: outcome.failed.map((f) => ({ reasonCode: f.reasonCode, reason: f.reason })), missing: missing.length },
  });
}
