import type { NaturalDataset } from 'dcmjs';
import { num, str, strs } from '../../dicom/part10';
import type { StudyInfo } from '../../domain/study';

/**
 * Study-level facts (patient, dates) read from a retrieved source instance, so results can be written without a
 * second metadata query. The series list holds only the series the job used.
 */
export function studyFromSource(ds: NaturalDataset, instanceUids: readonly string[]): StudyInfo {
  const pick = (k: string): string | undefined => {
    const v = str(ds, k);
    return v === undefined || v === '' ? undefined : v;
  };
  const study: StudyInfo = {
    studyInstanceUid: pick('StudyInstanceUID') ?? '',
    series: [
      {
        seriesInstanceUid: pick('SeriesInstanceUID') ?? '',
        modality: pick('Modality') ?? '',
        instances: instanceUids.map((sopInstanceUid) => ({ sopInstanceUid, sopClassUid: pick('SOPClassUID') ?? '' })),
      },
    ],
  };
  const series = study.series[0];
  const assign = <K extends keyof StudyInfo>(key: K, value: StudyInfo[K] | undefined): void => {
    if (value !== undefined) study[key] = value;
  };
  assign('patientId', pick('PatientID'));
  assign('issuerOfPatientId', pick('IssuerOfPatientID'));
  assign('patientName', pick('PatientName'));
  assign('patientBirthDate', pick('PatientBirthDate'));
  assign('patientSex', pick('PatientSex'));
  assign('accessionNumber', pick('AccessionNumber'));
  assign('studyDate', pick('StudyDate'));
  assign('studyTime', pick('StudyTime'));
  assign('studyDescription', pick('StudyDescription'));
  if (series) {
    const n = num(ds, 'SeriesNumber');
    if (n !== undefined) series.seriesNumber = n;
    const d = pick('SeriesDescription');
    if (d !== undefined) series.seriesDescription = d;
    const b = pick('BodyPartExamined');
    if (b !== undefined) series.bodyPartExamined = b;
    const t = strs(ds, 'ImageType');
    if (t) series.imageType = t;
  }
  return study;
}
