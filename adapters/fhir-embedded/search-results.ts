import { evalFhirPath, getSearchParameter, parseSearchRequest } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, BundleLink, Reference, Resource } from '@medplum/fhirtypes';

type Query = Record<string, string | string[] | undefined>;

function referencesOf(resource: Resource, expression: string, targetType: string | undefined): string[] {
  const refs: string[] = [];
  for (const value of evalFhirPath(expression, resource)) {
    const reference = (value as Reference | undefined)?.reference;
    if (typeof reference !== 'string' || !/^[A-Za-z]+\/[^/]+$/.test(reference)) continue;
    if (targetType && !reference.startsWith(`${targetType}/`)) continue;
    refs.push(reference);
  }
  return refs;
}

/**
 * Completes a search Bundle from MemoryRepository, which returns only the matches: adds fullUrl and
 * search.mode "match" to each entry, the `_include` targets (search.mode "include", each resource once),
 * and self/next links so clients can page.
 */
export async function completeSearchBundle(
  repo: FhirRepository,
  resourceType: string,
  query: Query,
  bundle: Bundle,
  baseUrl: string,
): Promise<Bundle> {
  const request = parseSearchRequest(resourceType, query);
  const matches: BundleEntry[] = (bundle.entry ?? []).map((e) => ({
    fullUrl: `${baseUrl}/${e.resource?.resourceType}/${e.resource?.id}`,
    resource: e.resource,
    search: { mode: 'match' },
  }));
  const seen = new Set(matches.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  const included: BundleEntry[] = [];
  for (const include of request.include ?? []) {
    const param = getSearchParameter(include.resourceType, include.searchParam);
    if (!param?.expression) continue;
    for (const match of matches) {
      if (match.resource?.resourceType !== include.resourceType) continue;
      for (const reference of referencesOf(match.resource, param.expression, include.targetType)) {
        if (seen.has(reference)) continue;
        seen.add(reference);
        const [type = '', id = ''] = reference.split('/');
        const target = await repo.readResource(type, id).catch(() => undefined);
        if (target) included.push({ fullUrl: `${baseUrl}/${reference}`, resource: target, search: { mode: 'include' } });
      }
    }
  }
  const link: BundleLink[] = [{ relation: 'self', url: `${baseUrl}/${resourceType}?${toQueryString(query)}` }];
  const offset = request.offset ?? 0;
  if (request.count !== undefined && bundle.total !== undefined && offset + request.count < bundle.total) {
    const next = { ...query, _offset: String(offset + request.count), _count: String(request.count) };
    link.push({ relation: 'next', url: `${baseUrl}/${resourceType}?${toQueryString(next)}` });
  }
  const out: Bundle = { resourceType: 'Bundle', type: 'searchset', link, entry: [...matches, ...included] };
  if (bundle.total !== undefined) out.total = bundle.total;
  return out;
}

function toQueryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) params.append(k, item);
  }
  return params.toString();
}
