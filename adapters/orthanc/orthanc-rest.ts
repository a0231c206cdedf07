import { AppError } from '../../src/domain/errors';

export interface OrthancConnection {
  /** Orthanc's REST root, e.g. http://orthanc:8042 */
  baseUrl: string;
  /** Basic auth for Orthanc's RegisteredUsers. */
  auth?: { username: string; password: string };
  /** Per-request timeout (ms); default 30 s. */
  timeoutMs?: number;
}

/** The few Orthanc REST calls the change feed needs, over Node's fetch with Basic auth. */
export class OrthancRest {
  private readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(connection: OrthancConnection) {
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = connection.timeoutMs ?? 30_000;
    this.headers = { accept: 'application/json' };
    if (connection.auth) {
      this.headers.authorization = `Basic ${Buffer.from(`${connection.auth.username}:${connection.auth.password}`, 'utf8').toString('base64')}`;
    }
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
      res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new AppError('PACS_UNAVAILABLE', `Orthanc not reachable for ${pathKind(path)}`, { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) {
        throw new AppError('PACS_REJECTED', `Orthanc refused our credentials (HTTP ${res.status}) for ${pathKind(path)}; check the configured username/password`, {
          retryable: false,
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
