import { AsyncLocalStorage } from 'node:async_hooks';
import type { Bundle, DiagnosticReport, ImagingStudy, Observation, Resource } from '@medplum/fhirtypes';
import { OutboundTarget } from '../outbound-auth/outbound-target';
import { AppError } from '../../src/domain/errors';
import { studyIdentifier } from '../../src/fhir/identifiers';
import type { FhirSink, StudyReports } from '../../src/ports/fhir-sink';
import { fhirCallError } from './fhir-errors';
import { KeyedMutex } from '../../src/concurrency/keyed-mutex';
import { relativeReference } from '../../src/fhir/references';
import { isUnderBaseUrl } from '../../src/domain/urls';

type FhirKit = typeof import('fhir-kit-client', { with: { 'resolution-mode': 'import' } });
type Client = InstanceType<FhirKit['Client']>;

export interface FhirClientSinkOptions {
  /** FHIR base URL, e.g. https://fhir.hospital.example/R4 */
  baseUrl: string;
  /**
   * The FHIR server's outbound target: credentials (static, OAuth2 client credentials, SMART backend services) and
   * TLS (CA bundle, client certificate). Every call goes through it; a 401 is retried once with a fresh token.
   * Default: from bearerToken/basicAuth, Node's TLS defaults.
   */
  target?: OutboundTarget;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Extra headers sent on every call. */
  headers?: Record<string, string>;
  /** Per-call timeout; default 30 s. */
  timeoutMs?: number;
  /** Upper bound on search pages followed by reportsForStudy; default 20. */
  maxPages?: number;
}

/** The fhir-kit Client methods this sink calls: each one is a request that carries our credentials. */
const CALLS = new Set(['transaction', 'read', 'update', 'search', 'nextPage', 'capabilityStatement', 'create', 'delete', 'batch', 'vread', 'patch']);

/** fhir-kit-client 2 is ESM only; a real dynamic import() loads it from our CommonJS build. */
let fhirKit: Promise<FhirKit> | undefined;
function loadFhirKit(): Promise<FhirKit> {
  fhirKit ??= import('fhir-kit-client');
  return fhirKit;
}

/** Writes result bundles to (and reads reports from) any FHIR R4 server through fhir-kit-client. */
export class FhirClientSink implements FhirSink {
  private readonly options: FhirClientSinkOptions;
  private readonly locks = new KeyedMutex();
  private client: Promise<Client> | undefined;

  constructor(options: FhirClientSinkOptions) {
    this.options = options;
  }

  /**
   * Posts the transaction. Calls with the same key run one after another: a conditional create is a search then a
   * create, and two concurrent ones can both miss and both create.
   */
  async writeTransaction(idempotencyKey: string, bundle: Bundle): Promise<Bundle> {
    return this.locks.run(idempotencyKey, async () => {
      const client = await this.getClient();
      let response: Bundle;
      try {
        response = (await client.transaction({ body: bundle as never, options: this.requestOptions() })) as unknown as Bundle;
      } catch (err) {
        throw fhirCallError(err, 'the result transaction');
      }
      if (response?.resourceType !== 'Bundle' || (response.entry?.length ?? 0) !== (bundle.entry?.length ?? 0)) {
        throw new AppError('FHIR_REJECTED', 'FHIR server answered the transaction without a matching transaction-response', {
          retryable: false,
        });
      }
      return response;
    });
  }

  async updateResource<T extends Resource>(reference: string, change: (current: T) => T | undefined | Promise<T | undefined>): Promise<void> {
    const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (!match) throw new AppError('FHIR_REJECTED', 'not a relative resource reference', { retryable: false });
    const [, resourceType = '', id = ''] = match;
    const client = await this.getClient();
    for (let attempt = 1; ; attempt++) {
      let current: T;
      try {
        current = (await client.read({ resourceType, id, options: this.requestOptions() })) as unknown as T;
      } catch (err) {
        throw fhirCallError(err, `GET ${resourceType}`);
      }
      const next = await change(current);
      if (!next) return;
      const version = current.meta?.versionId;
      try {
        await client.update({
          resourceType,
          id,
          body: next as never,
          options: { ...this.requestOptions(), ...(version ? { headers: { 'If-Match': `W/"${version}"` } } : {}) },
        });
        return;
      } catch (err) {
        const e = fhirCallError(err, `PUT ${resourceType}`);
        // 409/412: someone else changed it since we read it; read again and re-apply.
        if (!(e.retryable && e.code === 'FHIR_REJECTED') || attempt >= 5) throw e;
      }
    }
  }

  /**
   * R4 has no DiagnosticReport search by ImagingStudy, so: find the ImagingStudy by its UID identifier, search the
   * reports of its subject with their results included, and keep those whose imagingStudy is that study.
   */
  async reportsForStudy(studyInstanceUid: string): Promise<StudyReports> {
    const id = studyIdentifier(studyInstanceUid);
    const studies = await this.searchAll('ImagingStudy', { identifier: `${id.system}|${id.value}` });
    const reports: DiagnosticReport[] = [];
    const observations = new Map<string, Observation>();
    for (const study of studies.matches as ImagingStudy[]) {
      const subject = relativeReference(study.subject?.reference);
      if (!subject || !study.id) continue;
      const studyKey = `ImagingStudy/${study.id}`;
      const found = await this.searchAll('DiagnosticReport', { subject, _include: 'DiagnosticReport:result' });
      const included = new Map(found.included.map((r) => [`${r.resourceType}/${r.id}`, r]));
      for (const report of found.matches as DiagnosticReport[]) {
        if (!report.imagingStudy?.some((ref) => relativeReference(ref.reference) === studyKey)) continue;
        reports.push(report);
        for (const result of report.result ?? []) {
          const key = relativeReference(result.reference);
          const observation = key ? included.get(key) : undefined;
          if (key && observation?.resourceType === 'Observation') observations.set(key, observation);
        }
      }
    }
    return { reports, observations: [...observations.values()] };
  }

  /**
   * PUT Type/id (update-as-create): for resources whose id we choose, such as AuditEvents, so a redelivery after a
   * lost answer overwrites the same resource instead of creating a second one. Same credentials as every other call.
   */
  async putResource(resource: Resource & { id: string }): Promise<void> {
    const client = await this.getClient();
    try {
      await client.update({ resourceType: resource.resourceType, id: resource.id, body: resource as never, options: this.requestOptions() });
    } catch (err) {
      throw fhirCallError(err, `PUT ${resource.resourceType}`);
    }
  }

  async ping(): Promise<void> {
    const client = await this.getClient();
    try {
      const statement = (await client.capabilityStatement(this.requestOptions())) as Resource;
      if (statement?.resourceType !== 'CapabilityStatement') {
        throw new AppError('FHIR_UNAVAILABLE', 'FHIR metadata did not return a CapabilityStatement');
      }
    } catch (err) {
      throw fhirCallError(err, 'GET metadata');
    }
  }

  /** Follows next links (bounded) and splits entries into matches and _include'd resources. */
  private async searchAll(
    resourceType: string,
    searchParams: Record<string, string>,
  ): Promise<{ matches: Resource[]; included: Resource[] }> {
    const client = await this.getClient();
    const matches: Resource[] = [];
    const included: Resource[] = [];
    const action = `${resourceType} search`;
    let page: Bundle | undefined;
    try {
      page = (await client.search({
        resourceType,
        searchParams: { ...searchParams, _count: 100 },
        options: this.requestOptions(),
      })) as unknown as Bundle;
      for (let pages = 1; page; pages++) {
        for (const entry of page.entry ?? []) {
          if (!entry.resource) continue;
          const isInclude = entry.search?.mode === 'include' || entry.resource.resourceType !== resourceType;
          (isInclude ? included : matches).push(entry.resource);
        }
        const next = page.link?.find((l) => l.relation === 'next')?.url;
        if (!next || pages >= (this.options.maxPages ?? 20)) break;
        // fhir-kit-client would follow any URL, credentials included: only pages below our base URL are fetched.
        if (!isUnderBaseUrl(next, this.options.baseUrl)) {
          throw new AppError('FHIR_REJECTED', `the FHIR server sent a next link outside its base URL during ${action}; not followed`, { retryable: false });
        }
        page = (await client.nextPage({ bundle: page as never, options: this.requestOptions() })) as Bundle | undefined;
      }
    } catch (err) {
      throw fhirCallError(err, action);
    }
    return { matches, included };
  }

  private requestOptions(): { signal: AbortSignal } {
    return { signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) };
  }

  /**
   * The fhir-kit client, wrapped so that every method call goes through the outbound target: its credentials are
   * put on the request by fhir-kit's requestSigner (handed over in an AsyncLocalStorage, so concurrent calls never
   * mix headers), its TLS dispatcher rides in the request options, and a 401 repeats the call once.
   */
  private getClient(): Promise<Client> {
    this.client ??= loadFhirKit().then(({ Client }) => {
      const { basicAuth, bearerToken } = this.options;
      const target = this.options.target ?? OutboundTarget.legacy('fhir', basicAuth ?? (bearerToken ? { bearerToken } : undefined));
      const auth = new AsyncLocalStorage<Record<string, string>>();
      const client = new Client({
        baseUrl: this.options.baseUrl.replace(/\/+$/, ''),
        customHeaders: { ...this.options.headers },
        ...(target.dispatcher ? { requestOptions: { dispatcher: target.dispatcher } } : {}),
        requestSigner: (_url: string, init: RequestInit) => {
          for (const [name, value] of Object.entries(auth.getStore() ?? {})) (init.headers as Headers).set(name, value);
        },
      });
      const statusOf = (err: unknown): number | undefined => (err as { response?: { status?: number } } | undefined)?.response?.status;
      return new Proxy(client, {
        get(object, property, receiver) {
          const value: unknown = Reflect.get(object, property, receiver);
          if (typeof value !== 'function' || typeof property !== 'string' || !CALLS.has(property)) return value;
          return (...args: unknown[]) => target.call((headers) => auth.run(headers, () => (value as (...a: unknown[]) => Promise<unknown>).apply(object, args)), statusOf);
        },
      });
    });
    return this.client;
  }
}
