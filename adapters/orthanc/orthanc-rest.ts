import { AppError } from '../../src/domain/errors';
import { OutboundTarget } from '../outbound-auth/outbound-target';
import { describeNetworkError } from '../outbound-auth/target-errors';

export interface OrthancConnection {
  /** Orthanc's REST root, e.g. http://orthanc:8042 */
  baseUrl: string;
  /** Basic auth for Orthanc's RegisteredUsers (ignored when target is given). */
  auth?: { username: string; password: string };
  /** The PACS's outbound target (credentials, TLS); every call goes through it. Default: from auth. */
  target?: OutboundTarget;
  /** Per-request timeout (ms); default 30 s. */
  timeoutMs?: number;
}

/** The few Orthanc REST calls the change feed needs, through the PACS's outbound target (auth, TLS). */
export class OrthancRest {
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly target: OutboundTarget;

  constructor(connection: OrthancConnection) {
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = connection.timeoutMs ?? 30_000;
    this.headers = { accept: 'application/json' };
    this.target = connection.target ?? OutboundTarget.legacy('pacs', connection.auth);
  }

  async getJson<T>(path: string): Promise<T> {
    const result = await this.get<T>(path);
    if (result === undefined) throw new AppError('NOT_FOUND', `Orthanc answered 404 for ${pathKind(path)}`);
    return result;
  }

  /** Like getJson, but a 404 gives undefined (the resource was deleted). */
  async getJsonOrUndefined<T>(path: string): Promise<T | undefined> {
    return this.get<T>(path);
  }

  private async get<T>(path: string): Promise<T | undefined> {
    let res: Response;
    try {
      res = await this.target.fetch(`${this.baseUrl}${path}`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('PACS_UNAVAILABLE', `Orthanc not reachable for ${pathKind(path)}: ${describeNetworkError(err)}`, { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) {
        // Retryable, not an outage: a rotated secret or a new token can fix it, and the job must not be lost.
        throw new AppError('PACS_REJECTED', `Orthanc refused our credentials (HTTP ${res.status}) for ${pathKind(path)}; check outbound.pacs.auth (or pacsUsername/pacsPassword)`, {
          retryable: true,
          details: { httpStatus: res.status },
        });
      }
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new AppError(retryable ? 'PACS_UNAVAILABLE' : 'PACS_REJECTED', `Orthanc answered HTTP ${res.status} for ${pathKind(path)}`, {
        retryable,
        details: { httpStatus: res.status },
      });
    }
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new AppError('PACS_UNAVAILABLE', `Orthanc sent a body that is not JSON for ${pathKind(path)}`, { cause: err });
    }
  }
}

/** "/studies/abc" → "/studies/{id}": paths in messages and logs without resource ids. */
function pathKind(path: string): string {
  const [base = ''] = path.split('?');
  return base.replace(/^\/(studies|series|instances|patients)\/[^/]+/, '/$1/{id}');
}
