import type { ImagingStudy } from '@medplum/fhirtypes';
import { mergeImagingStudySeries } from './imaging-study';

const MR = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'MR' };
const SEG = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'SEG' };
const segClass = { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.66.4' };

const existing: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 'is1',
  meta: { versionId: '3' },
  status: 'available',
  subject: { reference: 'Patient/p1' },
  numberOfSeries: 1,
  numberOfInstances: 91,
  series: [{ uid: '1.2.3', modality: MR, numberOfInstances: 91, description: 'hospital text' }],
};

const ours: ImagingStudy = {
  resourceType: 'ImagingStudy',
  status: 'available',
  subject: { reference: 'urn:uuid:x' },
  series: [
    { uid: '1.2.3', modality: MR, numberOfInstances: 91 },
    { uid: '2.25.9', modality: SEG, numberOfInstances: 1, instance: [{ uid: '2.25.10', sopClass: segClass, number: 1 }] },
  ],
};

describe('mergeImagingStudySeries', () => {
  it('when the existing study lacks our SEG series, then it is added and the counts follow, keeping everything else', () => {
    const merged = mergeImagingStudySeries(existing, ours);
    expect(merged?.series?.map((s) => s.uid)).toEqual(['1.2.3', '2.25.9']);
    expect(merged?.series?.[0]?.description).toBe('hospital text');
    expect(merged).toMatchObject({ id: 'is1', subject: { reference: 'Patient/p1' }, numberOfSeries: 2, numberOfInstances: 92 });
    expect(existing.series).toHaveLength(1);
  });

  it('when our series and instances are already listed, then nothing is to be written', () => {
    const once = mergeImagingStudySeries(existing, ours) as ImagingStudy;
    expect(mergeImagingStudySeries(once, ours)).toBeUndefined();
  });

  it('when the SEG series exists without our instance, then only the instance is added', () => {
    const partial: ImagingStudy = { ...existing, series: [...(existing.series ?? []), { uid: '2.25.9', modality: SEG, numberOfInstances: 0 }] };
    const merged = mergeImagingStudySeries(partial, ours);
    expect(merged?.series?.[1]?.instance?.map((i) => i.uid)).toEqual(['2.25.10']);
    expect(merged?.series?.[1]?.numberOfInstances).toBe(1);
  });
});
