import type { Endpoint, Identifier, ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import { FHIR_SYSTEMS } from '../domain/codes';
import type { SeriesInfo } from '../domain/study';
import type { BundleRefs, ResultContext } from './context';
import { fhirDateTime } from './datetime';
import { studyIdentifier, SYSTEMS } from './identifiers';

/** FHIR R4 codes a DICOM SOP Class as a URI: system urn:ietf:rfc:3986, code "urn:oid:<uid>". */
export function sopClassCoding(sopClassUid: string): { system: string; code: string } {
  return { system: 'urn:ietf:rfc:3986', code: `urn:oid:${sopClassUid}` };
}

function modalityCoding(modality: string): { system: string; code: string } {
  return { system: FHIR_SYSTEMS.DCM ?? '', code: modality };
}

export function endpointIdentifier(address: string): Identifier {
  return { system: SYSTEMS.endpoint, value: address };
}

export function buildEndpoint(address: string): Endpoint {
  return {
    resourceType: 'Endpoint',
    identifier: [endpointIdentifier(address)],
    status: 'active',
    connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM' }],
    payloadMimeType: ['application/dicom'],
    address,
  };
}

function sourceSeries(series: SeriesInfo): ImagingStudySeries {
  const out: ImagingStudySeries = {
    uid: series.seriesInstanceUid,
    modality: modalityCoding(series.modality),
    numberOfInstances: series.instances.length,
  };
  if (series.seriesNumber !== undefined && Number.isInteger(series.seriesNumber) && series.seriesNumber >= 0) {
    out.number = series.seriesNumber;
  }
  if (series.seriesDescription) out.description = series.seriesDescription;
  return out;
}

/**
 * The ImagingStudy as we know it: the source series the model used and, for segmentations, the SEG series with its
 * one instance. Written with ifNoneExist on the StudyInstanceUID, so a study already known to the FHIR server is
 * referenced as it is (and is not updated with the SEG).
 */
export function buildImagingStudy(ctx: ResultContext, refs: BundleRefs): ImagingStudy {
  const { study } = ctx;
  const series: ImagingStudySeries[] = [];
  const source = study.series.find((s) => s.seriesInstanceUid === ctx.seriesInstanceUid);
  series.push(source ? sourceSeries(source) : { uid: ctx.seriesInstanceUid, modality: modalityCoding('OT') });
  if (ctx.findings.kind === 'segmentation') {
    const f = ctx.findings;
    series.push({
      uid: f.segSeriesInstanceUid,
      number: f.segSeriesNumber,
      modality: modalityCoding('SEG'),
      description: `${ctx.model.name} ${ctx.model.version}`,
      numberOfInstances: 1,
      instance: [{ uid: f.segSopInstanceUid, sopClass: sopClassCoding(f.segSopClassUid), number: 1 }],
    });
  }
  const imagingStudy: ImagingStudy = {
    resourceType: 'ImagingStudy',
    identifier: [studyIdentifier(study.studyInstanceUid)],
    status: 'available',
    subject: { reference: refs.patient },
    numberOfSeries: series.length,
    numberOfInstances: series.reduce((n, s) => n + (s.numberOfInstances ?? 0), 0),
    series,
  };
  if (study.accessionNumber) {
    imagingStudy.identifier?.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
      value: study.accessionNumber,
    });
  }
  const started = fhirDateTime(study.studyDate, study.studyTime, ctx.studyTimezoneOffset);
  if (started) imagingStudy.started = started;
  if (study.studyDescription) imagingStudy.description = study.studyDescription;
  if (ctx.dicomWebEndpoint) imagingStudy.endpoint = [{ reference: refs.endpoint }];
  return imagingStudy;
}

/**
 * An ImagingStudy the server already had (created by the hospital, or by an earlier job of this study) lists what it
 * knew then. Returns it with every series and instance of `ours` that it lacks added, counts updated — or undefined
 * when nothing is missing, so a re-run writes nothing. Existing series and instances are never changed.
 */
export function mergeImagingStudySeries(existing: ImagingStudy, ours: ImagingStudy): ImagingStudy | undefined {
  const series: ImagingStudySeries[] = structuredClone(existing.series ?? []);
  let changed = false;
  for (const wanted of ours.series ?? []) {
    const have = series.find((s) => s.uid === wanted.uid);
    if (!have) {
      series.push(structuredClone(wanted));
      changed = true;
      continue;
    }
    for (const inst of wanted.instance ?? []) {
      if (have.instance?.some((i) => i.uid === inst.uid)) continue;
      have.instance = [...(have.instance ?? []), structuredClone(inst)];
      have.numberOfInstances = Math.max(have.numberOfInstances ?? 0, have.instance.length);
      changed = true;
    }
  }
  if (!changed) return undefined;
  return {
    ...existing,
    series,
    numberOfSeries: series.length,
    numberOfInstances: series.reduce((n, s) => n + (s.numberOfInstances ?? s.instance?.length ?? 0), 0),
  };
}
