import dcmjs from 'dcmjs';
import { IMPLEMENTATION, writePart10 } from '../../src/dicom/part10';

const { DicomMetaDictionary } = dcmjs.data;

export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

export interface SyntheticSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUids: string[];
  /** Part 10 files, one per slice, in slice order. */
  files: Uint8Array[];
  /** ImagePositionPatient per slice. */
  positions: [number, number, number][];
  orientation: [number, number, number, number, number, number];
}

/**
 * A small axial MR series (Explicit VR LE, 16-bit, MONOCHROME2) with a synthetic patient. Pixel values encode the
 * slice index so tests can tell slices apart.
 */
export function syntheticMrSeries(options: { slices?: number; rows?: number; columns?: number; studyInstanceUid?: string; patientName?: string } = {}): SyntheticSeries {
  const slices = options.slices ?? 3;
  const rows = options.rows ?? 16;
  const columns = options.columns ?? 16;
  const studyInstanceUid = options.studyInstanceUid ?? DicomMetaDictionary.uid();
  const seriesInstanceUid = DicomMetaDictionary.uid();
  const frameOfReferenceUid = DicomMetaDictionary.uid();
  const orientation: SyntheticSeries['orientation'] = [1, 0, 0, 0, 1, 0];
  const sopInstanceUids: string[] = [];
  const files: Uint8Array[] = [];
  const positions: [number, number, number][] = [];
  for (let i = 0; i < slices; i++) {
    const sopInstanceUid = DicomMetaDictionary.uid();
    const position: [number, number, number] = [-120.5, -99.25, 10 + 2.5 * i];
    const pixels = new Uint16Array(rows * columns).fill(100 * (i + 1));
    const dataset = {
      SOPClassUID: MR_IMAGE_STORAGE,
      SOPInstanceUID: sopInstanceUid,
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      FrameOfReferenceUID: frameOfReferenceUid,
      PatientName: options.patientName ?? 'Synthetic^Patient',
      PatientID: 'SYN-0001',
      PatientBirthDate: '19700101',
      PatientSex: 'O',
      StudyDate: '20240102',
      StudyTime: '101500',
      AccessionNumber: 'ACC-1',
      StudyID: '1',
      StudyDescription: 'Synthetic brain MR',
      Modality: 'MR',
      SeriesNumber: 7,
      SeriesDescription: 'T1 axial',
      BodyPartExamined: 'BRAIN',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      InstanceNumber: i + 1,
      ImagePositionPatient: position,
      ImageOrientationPatient: orientation,
      PixelSpacing: [0.9375, 0.9375],
      SliceThickness: 2.5,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: rows,
      Columns: columns,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 0,
      PixelData: pixels.buffer,
      _vrMap: { PixelData: 'OW' },
    };
    files.push(writePart10(dataset, IMPLEMENTATION));
    sopInstanceUids.push(sopInstanceUid);
    positions.push(position);
  }
  return { studyInstanceUid, seriesInstanceUid, sopInstanceUids, files, positions, orientation };
}
