import { badRequest, OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import type { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/**
 * Medplum's router runs any transaction that contains a conditional create as a "strict isolation" transaction
 * and refuses those with more than 8 entries (a limit meant for its Postgres backend). Our store already runs every
 * write alone under one lock, so it can resolve the conditional creates itself first: an entry whose ifNoneExist
 * matches is dropped and references to its urn:uuid are pointed at the existing resource; the rest go to the router
 * as plain creates. The response is rebuilt with one entry per original entry, in order.
 */
export interface ResolvedTransaction {
  /** The bundle to hand to the router (no ifNoneExist left). */
  bundle: Bundle;
  /** For each original entry: the index in the reduced bundle, or the existing resource it resolved to. */
  plan: ({ kind: 'forward'; index: number } | { kind: 'existing'; resource: Resource })[];
}

function rewriteReferences(value: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === 'reference' && typeof v === 'string' && map.has(v) ? map.get(v) : rewriteReferences(v, map);
    }
    return out;
  }
  return value;
}

export async function resolveConditionalCreates(repo: MemoryRepository, bundle: Bundle): Promise<ResolvedTransaction> {
  const entries = bundle.entry ?? [];
  const existing = new Map<number, Resource>();
  const references = new Map<string, string>();
  for (const [i, entry] of entries.entries()) {
    const resource = entry.resource;
    const condition = entry.request?.ifNoneExist;
    if (entry.request?.method !== 'POST' || !condition || !resource) continue;
    const found = await repo.searchResources(parseSearchRequest(`${resource.resourceType}?${condition}`));
    // A client error (its own condition): answered as a 400 OperationOutcome, as the engine's own refusals are.
    if (found.length > 1) throw new OperationOutcomeError(badRequest(`ifNoneExist "${resource.resourceType}?${condition}" matches ${found.length} resources`));
    const match = found[0];
    if (match) {
      existing.set(i, match);
      if (entry.fullUrl) references.set(entry.fullUrl, `${match.resourceType}/${match.id}`);
    }
  }
  const forwarded: BundleEntry[] = [];
  const plan: ResolvedTransaction['plan'] = [];
  for (const [i, entry] of entries.entries()) {
    const match = existing.get(i);
    if (match) {
      plan.push({ kind: 'existing', resource: match });
      continue;
    }
    const { ifNoneExist: _dropped, ...request } = entry.request ?? { method: 'POST', url: '' };
    plan.push({ kind: 'forward', index: forwarded.length });
    forwarded.push(rewriteReferences({ ...entry, request }, references) as BundleEntry);
  }
  return { bundle: { ...bundle, entry: forwarded }, plan };
}

/** Puts the router's response entries back in the original order, adding "200 OK" entries for resolved ones. */
export function rebuildResponse(plan: ResolvedTransaction['plan'], response: Bundle): Bundle {
  const answered = response.entry ?? [];
  return {
    ...response,
    entry: plan.map((p) =>
      p.kind === 'existing'
        ? { resource: p.resource, response: { status: '200 OK', location: `${p.resource.resourceType}/${p.resource.id}` } }
        : (answered[p.index] ?? { response: { status: '500 Internal Server Error' } }),
    ),
  };
}
