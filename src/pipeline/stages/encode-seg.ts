import type { NaturalDataset } from 'dcmjs';
import { buildSegmentation } from '../../dicom/seg';
import { SEGMENTATION_STORAGE_SOP_CLASS_UID } from '../../dicom/seg/enums';
import { AppError } from '../../domain/errors';
import type { SegmentationFindings } from '../../domain/findings';
import { deterministicUid } from '../../domain/identity';
import type { Volume } from '../../domain/volume';
import { SERVICE_VERSION } from '../../version';
import type { JobContext } from '../context';
import type { SegmentationOutput } from './infer-segmentation';

export interface EncodedSeg {
  part10: Uint8Array;
  findings: SegmentationFindings;
}

/** Voxel counts per label value (index = label). */
function countLabels(labels: Uint8Array): Uint32Array {
  const counts = new Uint32Array(256);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    counts[v] = (counts[v] as number) + 1;
  }
  return counts;
}

/** Builds the BINARY SEG for a label map and the per-segment findings (voxels, mL) that FHIR reports. */
export function encodeSeg(ctx: JobContext, sourceDataset: NaturalDataset, volume: Volume, output: SegmentationOutput): EncodedSeg {
  const labels = output.labels;
  const { manifest } = ctx.model;
  const { results } = ctx.deps;
  const segments = manifest.segments ?? [];
  if (segments.length === 0) throw new AppError('MODEL_INVALID', `segmentation model ${manifest.id} declares no segments`);
  const key = ctx.job.idempotencyKey;
  const seriesInstanceUid = deterministicUid(key, 'seg-series');
  const sopInstanceUid = deterministicUid(key, 'seg-instance');
  const description = `${manifest.name} ${manifest.version}`;
  const seg = buildSegmentation({
    source: {
      dataset: sourceDataset,
      slices: volume.sources,
      orientation: volume.orientation,
      // PixelSpacing is [row spacing, column spacing] = [spacing along colDir, spacing along rowDir].
      pixelSpacing: [volume.spacing[1], volume.spacing[0]],
      // With uneven slice gaps spacing[2] is only their mean: state no thickness rather than a wrong one.
      ...(volume.sliceOffsets ? {} : { sliceThickness: volume.spacing[2] }),
      frameOfReferenceUid: volume.frameOfReferenceUid,
      seriesInstanceUid: ctx.job.seriesInstanceUid,
    },
    segmentationType: manifest.segmentationType ?? 'BINARY',
    ...(manifest.segmentationType === 'FRACTIONAL'
      ? {
          // uint8 maps (255 = 1.0) back to 0..1; the encoder re-quantises them to exactly the same values.
          probabilities: (output.probabilities ?? []).map((p, i) => ({ segmentNumber: i + 1, data: Float32Array.from(p, (v) => v / 255) })),
          grid: { rows: labels.rows, columns: labels.columns },
        }
      : { labelMap: labels }),
    segments,
    seriesInstanceUid,
    sopInstanceUid,
    seriesNumber: results.segSeriesNumber,
    instanceNumber: 1,
    seriesDescription: description,
    contentLabel: 'AI_SEGMENTATION',
    contentDescription: `${manifest.name} ${manifest.version}`,
    algorithm: { name: manifest.name, version: manifest.version },
    equipment: {
      manufacturer: manifest.manufacturer || results.manufacturer,
      manufacturerModelName: manifest.id,
      deviceSerialNumber: results.deviceSerialNumber,
      softwareVersions: [manifest.version, `clinical-ai ${SERVICE_VERSION}`],
    },
    ...(results.clinicalUseNotice ? { clinicalUseNotice: results.clinicalUseNotice } : {}),
    contentDateTime: (ctx.deps.now ?? (() => new Date()))(),
  });
  const counts = countLabels(labels.data);
  const voxelMl = (volume.spacing[0] * volume.spacing[1] * volume.spacing[2]) / 1000;
  const findings: SegmentationFindings = {
    kind: 'segmentation',
    segSeriesInstanceUid: seriesInstanceUid,
    segSopInstanceUid: sopInstanceUid,
    segSopClassUid: SEGMENTATION_STORAGE_SOP_CLASS_UID,
    segSeriesNumber: results.segSeriesNumber,
    segments: segments.map((s, i) => {
      const voxelCount = counts[s.labelValue] ?? 0;
      return {
        segmentNumber: i + 1,
        labelValue: s.labelValue,
        label: s.label,
        type: s.type,
        voxelCount,
        volumeMl: Math.round(voxelCount * voxelMl * 1000) / 1000,
      };
    }),
  };
  return { part10: seg.toPart10(), findings };
}
