import { CODES } from '../../src/domain/codes';
import type { ModelManifest } from '../../src/domain/manifest';
import type { StudyInfo } from '../../src/domain/study';
import { deterministicUid, idempotencyKey } from '../../src/domain/identity';
import type { ResultContext } from '../../src/fhir/context';

/** Synthetic results for FHIR tests (made-up patient; no real data). */
const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

export function syntheticStudy(studyInstanceUid = '1.2.826.0.1.3680043.8.498.1001'): StudyInfo {
  return {
    studyInstanceUid,
    patientId: 'SYN-0001',
    issuerOfPatientId: 'SYNTHETIC HOSPITAL',
    patientName: 'Testpatient^Synthia^M^^',
    patientBirthDate: '19700131',
    patientSex: 'F',
    accessionNumber: 'ACC42',
    studyDate: '20240315',
    studyTime: '134501.25',
    studyDescription: 'MR BRAIN',
    series: [
      {
        seriesInstanceUid: `${studyInstanceUid}.1`,
        modality: 'MR',
        seriesNumber: 3,
        seriesDescription: 'T1 AX',
        instances: [1, 2, 3].map((n) => ({ sopInstanceUid: `${studyInstanceUid}.1.${n}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.4' })),
      },
    ],
  };
}

const baseModel: Omit<ModelManifest, 'id' | 'task' | 'segments' | 'classes' | 'name'> = {
  version: '1.2.0',
  description: 'synthetic model for tests',
  file: 'model.onnx',
  sha256: 'ab'.repeat(32),
  manufacturer: 'clinical-ai tests',
  select: { modality: ['MR'] },
  io: { input: 'x', output: 'y', layout: 'slices', outputKind: 'labels' },
  preprocessing: { normalize: 'zscore' },
  intendedUse: 'Research only; synthetic test model.',
};

export function segmentationContext(studyInstanceUid?: string): ResultContext {
  const study = syntheticStudy(studyInstanceUid);
  const series = study.series[0]!;
  const model: ModelManifest = { ...baseModel, id: 'brain-seg', name: 'Brain segmenter', task: 'segmentation' };
  const key = idempotencyKey({
    studyInstanceUid: study.studyInstanceUid,
    instanceUids: series.instances.map((i) => i.sopInstanceUid),
    modelId: model.id,
    modelDigest: model.sha256,
  });
  return {
    idempotencyKey: key,
    study,
    seriesInstanceUid: series.seriesInstanceUid,
    model,
    modelDigest: model.sha256,
    findings: {
      kind: 'segmentation',
      segSeriesInstanceUid: deterministicUid(key, 'seg-series'),
      segSopInstanceUid: deterministicUid(key, 'seg-sop'),
      segSopClassUid: SEG_SOP_CLASS,
      segSeriesNumber: 9001,
      segments: [
        { segmentNumber: 1, labelValue: 1, label: 'Brain', type: CODES.brain, voxelCount: 1200000, volumeMl: 1200.4567 },
        {
          segmentNumber: 2,
          labelValue: 2,
          label: 'Lesion',
          type: { value: '108369006', scheme: 'SCT', meaning: 'Neoplasm' },
          voxelCount: 1500,
          volumeMl: 1.5,
        },
      ],
    },
    reportStatus: 'preliminary',
    issued: new Date('2024-03-15T14:00:00.000Z'),
    dicomWebEndpoint: 'http://127.0.0.1:8042/dicom-web',
    clinicalUseNotice: 'NOT FOR CLINICAL USE',
  };
}

export function classificationContext(studyInstanceUid?: string): ResultContext {
  const study = syntheticStudy(studyInstanceUid);
  const series = study.series[0]!;
  const model: ModelManifest = { ...baseModel, id: 'bleed-cls', name: 'Bleed classifier', task: 'classification' };
  const key = idempotencyKey({
    studyInstanceUid: study.studyInstanceUid,
    instanceUids: series.instances.map((i) => i.sopInstanceUid),
    modelId: model.id,
    modelDigest: model.sha256,
  });
  return {
    idempotencyKey: key,
    study,
    seriesInstanceUid: series.seriesInstanceUid,
    model,
    modelDigest: model.sha256,
    findings: {
      kind: 'classification',
      classes: [
        { label: 'Hemorrhage', code: { value: '50960005', scheme: 'SCT', meaning: 'Hemorrhage' }, probability: 0.87, threshold: 0.5, present: true },
        { label: 'Neoplasm', code: { value: '108369006', scheme: 'SCT', meaning: 'Neoplasm' }, probability: 0.02, threshold: 0.5, present: false },
      ],
    },
    reportStatus: 'final',
    issued: new Date('2024-03-15T14:00:00.000Z'),
  };
}
