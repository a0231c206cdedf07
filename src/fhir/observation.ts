import type { Identifier, Observation, ObservationComponent } from '@medplum/fhirtypes';
import type { ClassFinding, SegmentationFindings, SegmentFinding } from '../domain/findings';
import type { BundleRefs, ResultContext } from './context';
import { concept } from './codings';
import { fhirDateTime, fhirInstant } from './datetime';
import { SYSTEMS } from './identifiers';
import { replacingStatus } from './supersede';

const UCUM = 'http://unitsofmeasure.org';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/**
 * Where a volume came from. R4 has no element for "segment n of SEG instance x" (ImagingSelection is R5), so:
 * a component coded DCM 121191 "Referenced Segment" carries the SegmentNumber (valueInteger), and this extension on
 * that component carries the SEG SOP Instance UID (valueOid); derivedFrom points at the ImagingStudy that lists it.
 */
export const SEG_SOP_INSTANCE_UID_EXTENSION = 'urn:clinical-ai:fhir:extension:referenced-sop-instance-uid';

export function observationIdentifier(key: string, suffix: string): Identifier {
  return { system: SYSTEMS.job, value: `${key}/${suffix}` };
}

/** The fields every result Observation shares: status, imaging category, subject, effective, device, source. */
function observationBase(ctx: ResultContext, refs: BundleRefs, suffix: string): Observation {
  return {
    resourceType: 'Observation',
    identifier: [observationIdentifier(ctx.idempotencyKey, suffix)],
    status: replacingStatus(ctx.reportStatus, ctx.replaces !== undefined),
    category: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }],
      },
    ],
    code: { text: '' },
    subject: { reference: refs.patient },
    effectiveDateTime:
      fhirDateTime(ctx.study.studyDate, ctx.study.studyTime, ctx.studyTimezoneOffset) ?? fhirInstant(ctx.issued),
    issued: fhirInstant(ctx.issued),
    device: { reference: refs.device },
    derivedFrom: [{ reference: refs.imagingStudy }],
  };
}

/** Round to a precision that means something for a volume (0.001 mL = 1 mm³) without float noise. */
function roundMl(ml: number): number {
  return Math.round(ml * 1000) / 1000;
}

export function buildSegmentObservation(
  ctx: ResultContext,
  refs: BundleRefs,
  findings: SegmentationFindings,
  segment: SegmentFinding,
): Observation {
  const referencedSegment: ObservationComponent = {
    code: { coding: [{ system: DCM, code: '121191', display: 'Referenced Segment' }] },
    valueInteger: segment.segmentNumber,
    extension: [{ url: SEG_SOP_INSTANCE_UID_EXTENSION, valueOid: `urn:oid:${findings.segSopInstanceUid}` }],
  };
  const finding: ObservationComponent = {
    code: { coding: [{ system: DCM, code: '121071', display: 'Finding' }] },
    valueCodeableConcept: concept(segment.type, segment.label),
  };
  return {
    ...observationBase(ctx, refs, `segment-${segment.segmentNumber}`),
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: '118565006', display: 'Volume' }],
      text: `Volume of ${segment.label}`,
    },
    valueQuantity: { value: roundMl(segment.volumeMl), unit: 'mL', system: UCUM, code: 'mL' },
    component: [referencedSegment, finding],
  };
}

export function buildClassObservation(ctx: ResultContext, refs: BundleRefs, cls: ClassFinding, index: number): Observation {
  const observation: Observation = {
    ...observationBase(ctx, refs, `class-${index}`),
    code: concept(cls.code, `Probability of ${cls.label}`),
    valueQuantity: { value: cls.probability, unit: '1', system: UCUM, code: '1' },
    interpretation: [
      {
        coding: [
          cls.present
            ? { system: INTERPRETATION, code: 'POS', display: 'Positive' }
            : { system: INTERPRETATION, code: 'NEG', display: 'Negative' },
        ],
        text: `${cls.present ? 'present' : 'absent'} (threshold ${cls.threshold})`,
      },
    ],
  };
  if (cls.present) {
    observation.component = [
      { code: { coding: [{ system: DCM, code: '121071', display: 'Finding' }] }, valueCodeableConcept: concept(cls.code, cls.label) },
    ];
  }
  return observation;
}

/** One Observation per segment (volume) or per class (probability), in a stable order. */
export function buildObservations(ctx: ResultContext, refs: BundleRefs): Observation[] {
  const f = ctx.findings;
  if (f.kind === 'segmentation') return f.segments.map((s) => buildSegmentObservation(ctx, refs, f, s));
  return f.classes.map((c, i) => buildClassObservation(ctx, refs, c, i));
}
