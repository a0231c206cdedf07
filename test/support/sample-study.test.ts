import { readPart10, str } from '../../src/dicom/part10';
import { sampleStudyCopy } from './sample-study';

it('when the sample study is copied, then the copy has its own UIDs, the slices asked for, and the new patient name', () => {
  const a = sampleStudyCopy('a', { slices: 20, patientName: 'Zz^Outage' });
  const b = sampleStudyCopy('b', { slices: 20 });
  expect(a.files).toHaveLength(20);
  expect(a.studyInstanceUid).not.toBe(b.studyInstanceUid);
  const ds = readPart10(a.files[3] as Uint8Array).dataset;
  expect(str(ds, 'StudyInstanceUID')).toBe(a.studyInstanceUid);
  expect(str(ds, 'PatientName')).toBe('Zz^Outage');
  expect(new Set(a.files.map((f) => str(readPart10(f).dataset, 'SOPInstanceUID'))).size).toBe(20);
});
