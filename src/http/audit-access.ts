import type { Request, RequestHandler, Response } from 'express';
import { toAppError } from '../domain/errors';
import type { Principal } from '../domain/principal';
import type { Logger } from '../logging';
import type { AuditLog, AuditRecord, RestInteraction } from '../ports/audit-log';
import { clientAddress } from './auth/types';

type Entity = AuditRecord['entities'][number];

/** Routes that read or change patient data (everything else, /healthz, /metrics…, is recorded only when refused). */
const PATIENT_DATA = /^\/(jobs|studies|fhir|dicomweb|intake\/pending)(\/|$)/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;

function interactionOf(method: string, path: string, hasQuery: boolean): RestInteraction {
  if (method === 'GET') {
    const fhir = /^\/fhir\/([A-Z][A-Za-z]+)\/([^/]+)/.exec(path);
    if (fhir?.[2] && FHIR_ID.test(fhir[2]) && !fhir[2].startsWith('$')) return 'read';
    if (/^\/jobs\/[^/]+$/.test(path)) return 'read';
    return hasQuery || /^\/(fhir\/[A-Z]|studies\/|jobs$|intake)/.test(path) ? 'search' : 'read';
  }
  if (method === 'DELETE') return 'delete';
  if (method === 'PUT' || method === 'PATCH') return 'update';
  return path === '/fhir' || path === '/fhir/' ? 'transaction' : 'create';
}

/** What a request touched: the study, job or FHIR resource its path names, and the request itself as the query. */
function entitiesOf(method: string, originalUrl: string, path: string, query: URLSearchParams): Entity[] {
  const out: Entity[] = [];
  const study = /^\/(?:studies|dicomweb\/studies)\/([^/]+)/.exec(path)?.[1];
  if (study && UID.test(study)) out.push({ kind: 'study', id: study });
  const studyParam = path === '/jobs' ? query.get('study') : null;
  if (studyParam && UID.test(studyParam)) out.push({ kind: 'study', id: studyParam });
  const job = /^\/jobs\/([^/]+)/.exec(path)?.[1];
  if (job && job !== 'dead-letter') out.push({ kind: 'job', id: decodeURIComponent(job) });
  const fhir = /^\/fhir\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/|$)/.exec(path);
  if (fhir) out.push({ kind: 'fhir-resource', id: `${fhir[1]}/${fhir[2]}` });
  const type = /^\/fhir\/([A-Z][A-Za-z]+)/.exec(path)?.[1];
  out.push({ kind: 'query', id: `${method} ${originalUrl}`, ...(type ? { description: type } : {}) });
  return out;
}

function outcomeOf(status: number): Pick<AuditRecord, 'outcome' | 'outcomeDescription'> {
  if (status < 400) return { outcome: 'success' };
  return { outcome: status >= 500 ? 'serious-failure' : 'minor-failure', outcomeDescription: `HTTP ${status}` };
}

/** The audit record of one finished request, or undefined when it is not one to record. */
export function accessRecord(req: Request, res: Response, recorded: Date): AuditRecord | undefined {
  const method = req.method.toUpperCase();
  if (method === 'HEAD' || method === 'OPTIONS') return undefined;
  const originalUrl = req.originalUrl;
  const q = originalUrl.indexOf('?');
  const path = (q < 0 ? originalUrl : originalUrl.slice(0, q)).replace(/\/{2,}/g, '/');
  const query = new URLSearchParams(q < 0 ? '' : originalUrl.slice(q + 1));
  const principal = (res.locals.principal as Principal | undefined) ?? { kind: 'anonymous', subject: 'anonymous', roles: [], clientAddress: clientAddress(req) };
  // The service's own calls (results to its embedded /fhir, AuditEvents) are recorded by the pipeline hooks.
  if (principal.kind === 'service') return undefined;
  const status = res.statusCode;
  const interaction = interactionOf(method, path, q >= 0);
  const base = { recorded: recorded.toISOString(), agent: principal, interaction, entities: entitiesOf(method, originalUrl, path, query) };
  if (status === 401 || status === 403 || status === 429) {
    return { ...base, action: 'access-refused', refusal: status === 403 ? 'authorization' : 'authentication', ...outcomeOf(status) };
  }
  if (!PATIENT_DATA.test(path) || path === '/fhir/metadata') return undefined;
  if (method === 'GET') return { ...base, action: 'api-read', ...outcomeOf(status) };
  // Writes of AuditEvents are the audit trail itself: recording them would loop.
  if (/^\/fhir\/AuditEvent(\/|$)/.test(path)) return undefined;
  return { ...base, action: 'api-write', ...outcomeOf(status) };
}

/**
 * Records API access on the response's 'finish': refusals (401/403/429) on any route, reads (api-read) and changes
 * (api-write) of patient data with who (res.locals.principal, set by the authentication after this middleware) and
 * from where. Mounted first, so it sees every answer, also those authentication gives. The record is written after
 * the answer went out; a failing audit sink is logged (code only) and never changes the answer.
 */
export function auditAccess(audit: AuditLog, options: { logger?: Logger; now?: () => Date } = {}): RequestHandler {
  return (req, res, next) => {
    res.once('finish', () => {
      let record: AuditRecord | undefined;
      try {
        record = accessRecord(req, res, (options.now ?? (() => new Date()))());
      } catch (err) {
        options.logger?.error({ code: toAppError(err).code }, 'could not describe a request for the audit trail');
        return;
      }
      if (!record) return;
      audit.record(record).catch((err: unknown) => {
        options.logger?.error({ code: toAppError(err).code, action: record.action }, 'audit record failed');
      });
    });
    next();
  };
}
