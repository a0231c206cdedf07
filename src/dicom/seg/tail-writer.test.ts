import type { NaturalDataset } from 'dcmjs';
import { IMPLEMENTATION, writePart10 } from '../part10';
import { referencedSeries } from './content';
import { writeHeaderWithInstanceList } from './tail-writer';

const write = (ds: NaturalDataset): Uint8Array => writePart10(ds, IMPLEMENTATION);

function header(instances: number): NaturalDataset {
  const slices = Array.from({ length: instances }, (_, k) => ({
    sopInstanceUid: `1.2.826.0.1.3680043.2.1125.${k + 1}`,
    sopClassUid: k % 2 === 0 ? '1.2.840.10008.5.1.4.1.1.2' : '1.2.840.10008.5.1.4.1.1.4',
    imagePositionPatient: [0, 0, k] as [number, number, number],
  }));
  return {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.66.4',
    SOPInstanceUID: '2.25.42',
    PatientName: 'Doe^Jane',
    StudyInstanceUID: '1.2.3',
    SeriesInstanceUID: '2.25.43',
    ...referencedSeries('1.2.3.4', slices),
    ContentLabel: 'AFTER_THE_LIST',
  };
}

describe('writeHeaderWithInstanceList', () => {
  it.each([2, 3, 300])('when the series lists %i instances, then the bytes equal dcmjs writing the whole header', (n) => {
    const ds = header(n);
    expect(Buffer.from(writeHeaderWithInstanceList(ds, write)).equals(Buffer.from(write(ds)))).toBe(true);
  });

  it('when there is one instance or no list, then dcmjs writes it unchanged', () => {
    for (const ds of [header(1), { SOPClassUID: '1.2', SOPInstanceUID: '2.25.1' }]) {
      expect(Buffer.from(writeHeaderWithInstanceList(ds, write)).equals(Buffer.from(write(ds)))).toBe(true);
    }
  });

  it('when the first item cannot be found in what the writer produced, then the whole header is written by it', () => {
    const ds = header(4);
    const calls: number[] = [];
    const opaque = (d: NaturalDataset): Uint8Array => {
      const list = (d.ReferencedSeriesSequence as NaturalDataset[])[0]!.ReferencedInstanceSequence as unknown[];
      calls.push(list.length);
      return new Uint8Array([list.length]);
    };
    expect(Array.from(writeHeaderWithInstanceList(ds, opaque))).toEqual([4]);
    expect(calls).toEqual([1, 4]);
  });
});
