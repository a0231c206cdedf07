import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { bundleRefs, type ResultContext } from './context';
import { buildDevice, deviceIdentifier } from './device';
import { buildDiagnosticReport, reportIdentifier } from './diagnostic-report';
import { identifierQuery, studyIdentifier } from './identifiers';
import { buildEndpoint, buildImagingStudy, endpointIdentifier } from './imaging-study';
import { buildObservations } from './observation';
import { buildPatient, patientIdentifier } from './patient';
import { buildProvenance, provenanceQuery } from './provenance';

export type { ResultContext } from './context';

function conditionalCreate(fullUrl: string, resource: Resource, ifNoneExist: string): BundleEntry {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist } };
}

/**
 * One transaction per job: Patient, Device, (Endpoint), ImagingStudy, Observations, DiagnosticReport, Provenance.
 * Cross-references use the entries' urn:uuid fullUrls; every entry is a conditional create on a deterministic
 * identifier, so posting the same bundle again resolves to the resources already there.
 */
export function buildResultBundle(ctx: ResultContext): Bundle {
  const key = ctx.idempotencyKey;
  const refs = bundleRefs(key);
  const observations = buildObservations(ctx, refs);
  const observationRefs = observations.map((_, i) => refs.observation(i));
  const entries: BundleEntry[] = [
    conditionalCreate(refs.patient, buildPatient(ctx.study), identifierQuery(patientIdentifier(ctx.study))),
    conditionalCreate(refs.device, buildDevice(ctx.model, ctx.modelDigest), identifierQuery(deviceIdentifier(ctx.model))),
  ];
  if (ctx.dicomWebEndpoint) {
    entries.push(
      conditionalCreate(refs.endpoint, buildEndpoint(ctx.dicomWebEndpoint), identifierQuery(endpointIdentifier(ctx.dicomWebEndpoint))),
    );
  }
  entries.push(
    conditionalCreate(refs.imagingStudy, buildImagingStudy(ctx, refs), identifierQuery(studyIdentifier(ctx.study.studyInstanceUid))),
    ...observations.map((o, i) =>
      conditionalCreate(observationRefs[i] ?? '', o, identifierQuery(o.identifier?.[0] ?? {})),
    ),
    conditionalCreate(
      refs.report,
      buildDiagnosticReport(ctx, refs, observationRefs),
      identifierQuery(reportIdentifier(key)),
    ),
    conditionalCreate(refs.provenance, buildProvenance(ctx, refs, observationRefs), provenanceQuery(key)),
  );
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
