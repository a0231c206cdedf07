import type { Provenance } from '@medplum/fhirtypes';
import type { BundleRefs, ResultContext } from './context';
import { fhirInstant } from './datetime';
import { SYSTEMS, tokenQuery } from './identifiers';

/**
 * R4 Provenance has no identifier, so it is tagged with the job key (meta.tag) and written with
 * ifNoneExist "_tag=urn:clinical-ai:job|<key>", a search parameter every resource supports.
 */
export function provenanceTag(key: string): { system: string; code: string } {
  return { system: SYSTEMS.job, code: key };
}

export function provenanceQuery(key: string): string {
  return `_tag=${tokenQuery({ system: SYSTEMS.job, value: key })}`;
}

export function buildProvenance(ctx: ResultContext, refs: BundleRefs, observationRefs: string[]): Provenance {
  return {
    resourceType: 'Provenance',
    meta: { tag: [provenanceTag(ctx.idempotencyKey)] },
    target: [{ reference: refs.report }, ...observationRefs.map((reference) => ({ reference }))],
    recorded: fhirInstant(ctx.issued),
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE', display: 'create' }],
    },
    agent: [
      {
        type: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' },
          ],
        },
        who: { reference: refs.device },
      },
    ],
    // A replacing result names the report it revises (R4 provenance-entity-role "revision").
    entity: [
      { role: 'source', what: { reference: refs.imagingStudy } },
      ...(ctx.replaces ? [{ role: 'revision' as const, what: { reference: ctx.replaces } }] : []),
    ],
  };
}
