import type { HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import type { StudyInfo } from '../domain/study';
import { fhirDate } from './datetime';
import { patientIdentifierSystem, SYSTEMS } from './identifiers';

/**
 * The Patient is found or created by identifier: PatientID, qualified by IssuerOfPatientID when present
 * (`urn:dicom:issuer:<issuer>`), else by our default system. A study without PatientID gets a placeholder Patient
 * keyed by its StudyInstanceUID, because ImagingStudy.subject is mandatory in R4.
 */
export function patientIdentifier(study: StudyInfo): Identifier {
  const id = study.patientId?.trim();
  if (!id) return { system: SYSTEMS.studyPatient, value: `urn:oid:${study.studyInstanceUid}` };
  return { system: patientIdentifierSystem(study.issuerOfPatientId), value: id };
}

/** DICOM PN "Family^Given^Middle^Prefix^Suffix" (alphabetic group only) → HumanName. */
export function humanNameFromDicom(pn: string | undefined): HumanName | undefined {
  const alphabetic = (pn ?? '').split('=')[0] ?? '';
  const [family, given, middle, prefix, suffix] = alphabetic.split('^').map((p) => p.trim());
  const givens = [given, middle].filter((g): g is string => !!g);
  const name: HumanName = {};
  if (family) name.family = family;
  if (givens.length) name.given = givens;
  if (prefix) name.prefix = [prefix];
  if (suffix) name.suffix = [suffix];
  if (!name.family && !name.given) return undefined;
  name.text = [prefix, ...givens, family, suffix].filter(Boolean).join(' ');
  return name;
}

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other' };

export function buildPatient(study: StudyInfo): Patient {
  const patient: Patient = { resourceType: 'Patient', identifier: [patientIdentifier(study)] };
  const name = humanNameFromDicom(study.patientName);
  if (name) patient.name = [name];
  const birthDate = fhirDate(study.patientBirthDate);
  if (birthDate) patient.birthDate = birthDate;
  const sex = study.patientSex?.trim().toUpperCase();
  if (sex) patient.gender = GENDER[sex] ?? 'unknown';
  return patient;
}
