import { allOk, badRequest, getStatus, OperationOutcomeError } from '@medplum/core';
import { FhirRouter, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import express from 'express';
import { KeyedMutex } from '../../src/concurrency/keyed-mutex';
import { rebuildResponse, resolveConditionalCreates } from './conditional-creates';
import { PersistentMemoryRepository } from './persistent-repository';
import { loadR4Definitions } from './r4-definitions';
import { completeSearchBundle } from './search-results';

export interface EmbeddedFhirOptions {
  /** NDJSON file the store is loaded from at start and appended to on every write; in memory only when absent. */
  dataFile?: string;
  /** Largest accepted request body (a transaction Bundle). */
  bodyLimit?: string;
  /**
   * Absolute URL of this FHIR base as clients reach it (e.g. https://ai.example.org/fhir), used for fullUrl,
   * Location and paging links. Absent: the address and port the connection arrived on. Never the request's Host
   * or X-Forwarded-* headers, which any client can forge (links pointing to an attacker's host).
   */
  publicBaseUrl?: string;
}

export interface EmbeddedFhir {
  /** Serves the FHIR REST API; mount it where the service exposes FHIR (e.g. app.use('/fhir', router)). */
  router: express.Router;
  repo: PersistentMemoryRepository;
  /** Resolves when every write so far is in the data file. */
  flush(): Promise<void>;
  /** Waits for in-flight writes and the data file; further writes answer 503. */
  close(): Promise<void>;
}

const FHIR_JSON = 'application/fhir+json';
const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const SEARCH_PATH = /^\/?([A-Z][A-Za-z]+)\/?$/;

/**
 * An embedded FHIR R4 server: Medplum's FhirRouter over an in-memory repository made durable (see
 * PersistentMemoryRepository), behind Express. It fills the gaps of MemoryRepository that we rely on:
 * transactions are atomic (config.transactions + journal), writes run one at a time (MemoryRepository gives
 * conditional creates no isolation), and searches return `_include`d resources, fullUrls and paging links.
 */
export async function createEmbeddedFhirApp(options: EmbeddedFhirOptions = {}): Promise<EmbeddedFhir> {
  loadR4Definitions();
  const repo = new PersistentMemoryRepository(options.dataFile);
  await repo.load();
  const fhirRouter = new FhirRouter();
  const writes = new KeyedMutex();
  let closed = false;

  const router = express.Router();
  router.use(express.json({ type: ['application/json', FHIR_JSON], limit: options.bodyLimit ?? '50mb' }));

  router.get('/metadata', (_req, res) => {
    res.type(FHIR_JSON).json(capabilityStatement());
  });

  router.use(async (req, res, next) => {
    const method = req.method.toUpperCase();
    if (!METHODS.has(method)) return sendOutcome(res, badRequest(`Unsupported method ${method}`));
    const baseUrl = options.publicBaseUrl?.replace(/\/+$/, '') ?? socketBaseUrl(req);
    const fhirRequest: FhirRequest = {
      method: method as HttpMethod,
      url: req.url.replace(/^\//, ''),
      pathname: '',
      body: req.body as unknown,
      params: {},
      query: req.query as Record<string, string | string[]>,
      headers: req.headers,
      config: { transactions: true },
    };
    try {
      const handle = async (): Promise<[OperationOutcome, Resource?]> => {
        const body = fhirRequest.body as Bundle | undefined;
        if (method === 'POST' && fhirRequest.url === '' && body?.resourceType === 'Bundle' && body.type === 'transaction') {
          // Runs under the write lock (below), so resolving conditional creates first is race-free.
          const resolved = await resolveConditionalCreates(repo, body);
          if (resolved.bundle.entry?.length === 0) {
            return [allOk, rebuildResponse(resolved.plan, { resourceType: 'Bundle', type: 'transaction-response', entry: [] })];
          }
          const [outcome, resource] = await fhirRouter.handleRequest({ ...fhirRequest, body: resolved.bundle }, repo);
          return [outcome, resource ? rebuildResponse(resolved.plan, resource as Bundle) : resource];
        }
        const [outcome, resource] = await fhirRouter.handleRequest(fhirRequest, repo);
        return [outcome, resource];
      };
      const [outcome, resource] =
        method === 'GET'
          ? await handle()
          : await writes.run('store', async () => {
              if (closed) throw new Error('FHIR store is closing');
              const result = await handle();
              await repo.flush(); // answer only once the write is in the data file
              return result;
            });
      if (!resource) return sendOutcome(res, outcome);
      let body: Resource = resource;
      const search = SEARCH_PATH.exec(req.path);
      if (method === 'GET' && search?.[1] && resource.resourceType === 'Bundle') {
        body = await completeSearchBundle(repo, search[1], fhirRequest.query, resource as Bundle, baseUrl);
      }
      const status = getStatus(outcome);
      if (status === 201 && 'id' in resource && resource.id) res.location(`${baseUrl}/${resource.resourceType}/${resource.id}`);
      res.status(status).type(FHIR_JSON).json(body);
    } catch (err) {
      if (closed) return sendOutcome(res, serviceUnavailable());
      // Outcomes the FHIR engine raised are written for clients; any other error's message can name a file or a
      // library's internals: the service's error handler answers it (500, correlation id, logged).
      if (err instanceof OperationOutcomeError) return sendOutcome(res, err.outcome);
      next(err);
    }
  });

  return {
    router,
    repo,
    flush: () => repo.flush(),
    close: async () => {
      closed = true;
      await writes.run('store', () => repo.flush());
    },
  };
}

/** The base URL from the connection itself (local address and port, TLS or not): nothing a client can forge. */
function socketBaseUrl(req: express.Request): string {
  const socket = req.socket as typeof req.socket & { encrypted?: boolean };
  const raw = socket.localAddress ?? '127.0.0.1';
  const address = raw.startsWith('::ffff:') ? raw.slice(7) : raw;
  const host = address.includes(':') ? `[${address}]` : address;
  return `${socket.encrypted ? 'https' : 'http'}://${host}:${socket.localPort ?? 80}${req.baseUrl}`;
}

function serviceUnavailable(): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: 'unavailable',
    issue: [{ severity: 'error', code: 'transient', details: { text: 'FHIR store is closing' } }],
  };
}

function sendOutcome(res: express.Response, outcome: OperationOutcome): void {
  const status = outcome.id === 'unavailable' ? 503 : getStatus(outcome);
  res.status(status).type(FHIR_JSON).json(outcome);
}

function capabilityStatement(): Resource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'clinical-ai embedded FHIR store (Medplum fhir-router)' },
    rest: [{ mode: 'server', interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }] }],
  };
}
