import { AppError } from '../../src/domain/errors';
import { OutboundTarget } from '../outbound-auth/outbound-target';
import { describeNetworkError } from '../outbound-auth/target-errors';
import type { ImagingStore, StoreOutcome } from '../../src/ports/imaging-store';
import type { OrthancConnection } from './orthanc-rest';

/**
 * Orthanc as the result store: storing goes through DICOMweb (STOW-RS) like any PACS; deleting a superseded SEG
 * uses Orthanc's REST API (DICOMweb has no DELETE): /tools/lookup finds Orthanc's id of the SOP Instance UID,
 * then DELETE /instances/{id}. Orthanc drops the series with its last instance.
 */
export class OrthancImagingStore implements ImagingStore {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly target: OutboundTarget;

  constructor(
    private readonly stow: ImagingStore,
    connection: OrthancConnection,
  ) {
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = connection.timeoutMs ?? 30_000;
    this.target = connection.target ?? OutboundTarget.legacy('pacs', connection.auth);
  }

  store(studyInstanceUid: string, instances: readonly Uint8Array[]): Promise<StoreOutcome> {
    return this.stow.store(studyInstanceUid, instances);
  }

  ping(): Promise<void> {
    return this.stow.ping();
  }

  async deleteInstance(studyInstanceUid: string, seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean> {
    const hits = (await this.call('POST', '/tools/lookup', sopInstanceUid)) as { ID?: string; Type?: string; Path?: string }[];
    // A SOP Instance UID is unique, but check the hit is an instance of this study/series before deleting it.
    const ids: string[] = [];
    for (const hit of Array.isArray(hits) ? hits : []) {
      if (hit.Type !== 'Instance' || !hit.ID || !/^[0-9a-f-]+$/.test(hit.ID)) continue;
      const tags = (await this.call('GET', `/instances/${hit.ID}/simplified-tags`)) as Record<string, unknown> | undefined;
      if (tags?.StudyInstanceUID === studyInstanceUid && tags?.SeriesInstanceUID === seriesInstanceUid) ids.push(hit.ID);
    }
    let deleted = false;
    for (const id of ids) deleted = (await this.call('DELETE', `/instances/${id}`)) !== undefined || deleted;
    return deleted;
  }

  /** One REST call; undefined on 404 (already gone), AppError otherwise. */
  private async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: string): Promise<unknown> {
    const what = `${method} ${path.replace(/\/instances\/[^/]+/, '/instances/{id}')}`;
    let res: Response;
    try {
      res = await this.target.fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'text/plain' } : {}) },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('PACS_UNAVAILABLE', `Orthanc not reachable for ${what}: ${describeNetworkError(err)}`, { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) {
        throw new AppError('PACS_REJECTED', `Orthanc refused our credentials (HTTP ${res.status}) to ${what}; check outbound.pacs.auth (or pacsUsername/pacsPassword)`, {
          retryable: true,
          details: { httpStatus: res.status },
        });
      }
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new AppError(retryable ? 'PACS_UNAVAILABLE' : 'PACS_REJECTED', `Orthanc answered HTTP ${res.status} to ${what}`, {
        retryable,
        details: { httpStatus: res.status },
      });
    }
    const text = await res.text();
    try {
      return text ? (JSON.parse(text) as unknown) : {};
    } catch {
      return {};
    }
  }
}
