import { AppError } from './errors';

/**
 * Why a string is not a DICOM UID (PS3.5 §9.1: digits and ".", at most 64 characters, no empty component, no
 * leading zero in a component other than "0"), or undefined when it is one. The reason never quotes the value:
 * UIDs identify patients' studies and stay out of logs and error messages.
 */
export function uidProblem(uid: string): string | undefined {
  if (uid.length === 0) return 'it is empty';
  if (uid.length > 64) return `it has ${uid.length} characters (at most 64)`;
  if (!/^[0-9.]+$/.test(uid)) return 'it has characters other than digits and "."';
  for (const component of uid.split('.')) {
    if (component === '') return 'it has an empty component';
    if (component.length > 1 && component.startsWith('0')) return 'a component has a leading zero';
  }
  return undefined;
}

/** Throws BAD_DICOM naming the attribute when `uid` is not a valid UID. */
export function assertValidUid(uid: string, keyword: string): void {
  const problem = uidProblem(uid);
  if (problem) throw new AppError('BAD_DICOM', `${keyword} is not a valid DICOM UID: ${problem}`);
}

/** The identifying UIDs of a study as an intake reports it: each must be valid, or nothing of it is routed. */
export function assertValidStudyUids(study: { studyInstanceUid: string; series: readonly { seriesInstanceUid: string; instances: readonly { sopInstanceUid: string }[] }[] }): void {
  assertValidUid(study.studyInstanceUid, 'StudyInstanceUID');
  for (const s of study.series) {
    assertValidUid(s.seriesInstanceUid, 'SeriesInstanceUID');
    for (const i of s.instances) assertValidUid(i.sopInstanceUid, 'SOPInstanceUID');
  }
}
