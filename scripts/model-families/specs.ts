/**
 * The seed model families (issue #6): for each, the published architecture it follows, the manifest the plugin loads
 * (realistic preprocessing for the task the architecture is known for) and a synthetic source series to feed it.
 * The networks themselves are built by models/training/export_families.py; its info.json gives the input shape.
 */
import type { Code } from '../../src/domain/codes';
import type { ClassDefinition, ModelManifest, SegmentDefinition } from '../../src/domain/manifest';
import type { Volume } from '../../src/domain/volume';

export type FamilySize = 'full' | 'tiny';

/** What export_families.py writes to <dir>/<family>/info.json. */
export interface ExportInfo {
  family: string;
  size: FamilySize;
  params: number;
  opset: number;
  /** [N, C, H, W] or [N, C, D, H, W] as exported. */
  inputShape: number[];
  onnxBytes: number;
  operators: string[];
  torch: string;
  notes: string;
}

export interface FamilySpec {
  id: string;
  title: string;
  /** Reference paper(s) the network follows. */
  paper: string;
  /** Needs Debian's python3-torchvision (the published torchvision implementation). */
  torchvision: boolean;
  /** The manifest without file and sha256, which the driver fills in after the export. */
  manifest(info: ExportInfo): Omit<ModelManifest, 'file' | 'sha256'>;
  /** The source series the pipeline stage receives (before the manifest's preprocessing). */
  volume(info: ExportInfo): Volume;
}

const LOCAL = '99CLINAI';
const INTENDED_USE = 'Architecture compatibility check with random weights; output is meaningless. Not for any clinical use.';
const ANATOMY: Code = { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' };
const ABNORMAL: Code = { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Abnormal Structure' };
/** ImageNet statistics folded into one grey channel (the usual approximation for radiographs fed to RGB backbones). */
const IMAGENET_GREY = [{ op: 'minmax' as const }, { op: 'zscore' as const, mean: 0.449, std: 0.226 }];

function localClasses(labels: string[], threshold = 0.5): ClassDefinition[] {
  return labels.map((label, index) => ({
    index,
    label,
    code: { value: `family-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, scheme: LOCAL, meaning: label },
    threshold,
  }));
}

function segment(labelValue: number, label: string, type: Code, category: Code = ANATOMY): SegmentDefinition {
  return { labelValue, label, category, type };
}

function common(id: string, name: string, description: string): Pick<ModelManifest, 'id' | 'name' | 'version' | 'description' | 'manufacturer' | 'intendedUse'> {
  return { id, name, version: '0.0.1', description, manufacturer: 'clinical-ai model families', intendedUse: INTENDED_USE };
}

function dims2d(info: ExportInfo): { channels: number; h: number; w: number } {
  const [, channels = 1, h = 1, w = 1] = info.inputShape;
  return { channels, h, w };
}

function dims3d(info: ExportInfo): [number, number, number] {
  const [, , d = 1, h = 1, w = 1] = info.inputShape;
  return [d, h, w];
}

/** A 2D classifier over one slice, copied into the model's three input channels (grey image to RGB backbone). */
function classifier(id: string, title: string, paper: string, torchvision: boolean, modality: string, labels: string[], outputKind: 'logits' | 'probabilities', intensity: ModelManifest['preprocessing']['intensity'], kind: PhantomKind): FamilySpec {
  return {
    id,
    title,
    paper,
    torchvision,
    manifest: (info) => {
      const { channels, h, w } = dims2d(info);
      return {
        ...common(id, title.slice(0, 64), `${title}; random weights (seed model family).`),
        task: 'classification',
        select: { modality: [modality] },
        io: { input: 'image', output: 'output', layout: 'slice-stack', outputKind, stackSlices: channels },
        preprocessing: { inputSize: [h, w], intensity },
        classes: localClasses(labels),
      };
    },
    // One slice a little larger than the model input, so the stage's bilinear resize is exercised.
    volume: (info) => {
      const { h, w } = dims2d(info);
      return phantomVolume([Math.round(w * 1.25), Math.round(h * 1.1), 1], [0.4, 0.4, 1], kind);
    },
  };
}

/** A 2D segmentation network run slice by slice on a short series (the slices form the batch). */
function segmenter2d(id: string, title: string, paper: string, modality: string, intensity: ModelManifest['preprocessing']['intensity'], segments: SegmentDefinition[], kind: PhantomKind): FamilySpec {
  return {
    id,
    title,
    paper,
    torchvision: false,
    manifest: (info) => {
      const { h, w } = dims2d(info);
      return {
        ...common(id, title.slice(0, 64), `${title}; random weights (seed model family).`),
        task: 'segmentation',
        select: { modality: [modality] },
        io: { input: 'image', output: 'output', layout: 'slices', outputKind: 'logits' },
        preprocessing: { inputSize: [h, w], intensity },
        segments,
      };
    },
    volume: (info) => {
      const { h, w } = dims2d(info);
      const [batch = 2] = info.inputShape;
      return phantomVolume([Math.round(w * 1.2), Math.round(h * 1.3), batch], [0.8, 0.8, 3], kind);
    },
  };
}

/**
 * A 3D network: reorient, resample to the training spacing, crop/pad to the patch and one sliding-window patch (so the
 * pipeline's output is the network's output on exactly the tensor the pipeline built, comparable with PyTorch's).
 */
function segmenter3d(id: string, title: string, paper: string, modality: string, pre: Omit<ModelManifest['preprocessing'], 'cropOrPadTo'>, segments: SegmentDefinition[], kind: PhantomKind): FamilySpec {
  return {
    id,
    title,
    paper,
    torchvision: false,
    manifest: (info) => {
      const roi = dims3d(info);
      return {
        ...common(id, title.slice(0, 64), `${title}; random weights (seed model family).`),
        task: 'segmentation',
        select: { modality: [modality] },
        io: {
          input: 'image',
          output: 'output',
          layout: 'volume',
          outputKind: 'logits',
          slidingWindow: { roiSize: roi, overlap: 0.5, blend: 'gaussian', sigmaScale: 0.125, batchSize: 1 },
        },
        preprocessing: { ...pre, cropOrPadTo: roi },
        segments,
      };
    },
    // Larger than the patch in-plane and shorter through-plane once resampled: both crop and pad happen.
    volume: (info) => {
      const [d, h, w] = dims3d(info);
      const target = pre.targetSpacing ?? [1, 1, 1];
      return phantomVolume([Math.round(w * 1.3), Math.round(h * 1.2), Math.round((d * 0.8 * target[2]) / 2.5)], [target[0] * 1.1, target[1] * 1.1, 2.5], kind);
    },
  };
}

export const FAMILIES: FamilySpec[] = [
  classifier(
    'densenet121-chexnet',
    'DenseNet-121, 14 sigmoid outputs (CheXNet-style)',
    'Huang et al. 2017 (DenseNet); Rajpurkar et al. 2017 (CheXNet)',
    true,
    'DX',
    ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural thickening', 'Hernia'],
    'probabilities',
    IMAGENET_GREY,
    'xray',
  ),
  classifier('convnext-tiny', 'ConvNeXt-T classifier', 'Liu et al. 2022 (A ConvNet for the 2020s)', true, 'DX', ['Normal', 'Pneumonia', 'COVID-19'], 'logits', IMAGENET_GREY, 'xray'),
  classifier('vit-b16', 'ViT-B/16 classifier', 'Dosovitskiy et al. 2021 (An Image is Worth 16x16 Words)', true, 'MR', ['Glioma', 'Meningioma', 'Pituitary tumour', 'No tumour'], 'logits', IMAGENET_GREY, 'mr'),
  classifier('swin-tiny', 'Swin-T classifier', 'Liu et al. 2021 (Swin Transformer)', true, 'MR', ['Axial', 'Sagittal', 'Coronal'], 'logits', IMAGENET_GREY, 'mr'),
  classifier('deit-tiny-style', 'DeiT-Ti-style ViT classifier (own code)', 'Touvron et al. 2021 (DeiT)', false, 'DX', ['PA', 'AP', 'Lateral'], 'logits', IMAGENET_GREY, 'xray'),
  segmenter2d(
    'unet2d',
    '2D U-Net',
    'Ronneberger et al. 2015 (U-Net)',
    'MR',
    [{ op: 'zscore', nonzero: true }],
    [segment(1, 'Brain', { value: '12738006', scheme: 'SCT', meaning: 'Brain' })],
    'mr',
  ),
  segmenter2d(
    'transunet-style',
    'TransUNet-style hybrid (CNN + transformer + U-Net decoder)',
    'Chen et al. 2021 (TransUNet)',
    'CT',
    // TransUNet's Synapse preprocessing: HU clipped to [-125, 275] and scaled to [0, 1].
    [{ op: 'window', center: 75, width: 400 }],
    [segment(1, 'Liver', { value: '10200004', scheme: 'SCT', meaning: 'Liver' })],
    'ct',
  ),
  segmenter3d(
    'unet3d-nnunet',
    '3D U-Net, nnU-Net style (conv-IN-LReLU stages)',
    'Çiçek et al. 2016 (3D U-Net); Isensee et al. 2021 (nnU-Net)',
    'CT',
    // nnU-Net CT normalisation: clip to the foreground's 0.5/99.5 percentiles, then fixed mean/std (spleen-like values).
    { orientation: 'RAS', targetSpacing: [0.8, 0.8, 1.6], intensity: [{ op: 'clip', min: -41, max: 176 }, { op: 'zscore', mean: 99.3, std: 39.4 }], padValue: -1024 },
    [segment(1, 'Spleen', { value: '78961009', scheme: 'SCT', meaning: 'Spleen' })],
    'ct',
  ),
  segmenter3d(
    'unetr-style',
    'UNETR-style (ViT on 3D patches + conv decoder)',
    'Hatamizadeh et al. 2022 (UNETR)',
    'CT',
    // UNETR's BTCV recipe: RAS, 1.5 x 1.5 x 2 mm, HU [-175, 250] scaled to [0, 1].
    { orientation: 'RAS', targetSpacing: [1.5, 1.5, 2], intensity: [{ op: 'window', center: 37.5, width: 425 }], padValue: -1024 },
    [segment(1, 'Kidney', { value: '64033007', scheme: 'SCT', meaning: 'Kidney' })],
    'ct',
  ),
  segmenter3d(
    'segformer3d-style',
    'SegFormer3D-style (efficient-attention 3D encoder + all-MLP decoder)',
    'Xie et al. 2021 (SegFormer); Perera et al. 2024 (SegFormer3D)',
    'MR',
    // BraTS habit: RAS, 1 mm isotropic, z-score over the brain (non-zero voxels).
    { orientation: 'RAS', targetSpacing: [1, 1, 1], intensity: [{ op: 'zscore', nonzero: true }] },
    [
      segment(1, 'Necrotic tumour core', { value: '6574001', scheme: 'SCT', meaning: 'Necrosis' }, ABNORMAL),
      segment(2, 'Peritumoural edema', { value: '79654002', scheme: 'SCT', meaning: 'Edema' }, ABNORMAL),
      segment(3, 'Enhancing tumour', { value: '108369006', scheme: 'SCT', meaning: 'Neoplasm' }, ABNORMAL),
    ],
    'mr',
  ),
];

export function familyById(id: string): FamilySpec {
  const spec = FAMILIES.find((f) => f.id === id);
  if (!spec) throw new Error(`unknown model family "${id}" (known: ${FAMILIES.map((f) => f.id).join(', ')})`);
  return spec;
}

type PhantomKind = 'xray' | 'mr' | 'ct';

/**
 * A deterministic axial phantom: background, an ellipsoid body, two brighter blobs and a little noise, in the value
 * range of the modality (X-ray 12-bit counts, MR arbitrary units with zero background, CT Hounsfield units).
 */
export function phantomVolume(size: [number, number, number], spacing: [number, number, number], kind: PhantomKind): Volume {
  const [columns, rows, slices] = size;
  const [bg, body, blob] = kind === 'xray' ? [300, 1800, 3200] : kind === 'mr' ? [0, 500, 900] : [-1000, 40, 250];
  const data = new Float32Array(columns * rows * slices);
  let seed = 12345;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  for (let k = 0; k < slices; k++) {
    const z = slices > 1 ? (k / (slices - 1)) * 2 - 1 : 0;
    for (let j = 0; j < rows; j++) {
      const y = (j / (rows - 1)) * 2 - 1;
      for (let i = 0; i < columns; i++) {
        const x = (i / (columns - 1)) * 2 - 1;
        let v = bg;
        if ((x / 0.8) ** 2 + (y / 0.7) ** 2 + (z / 1.1) ** 2 < 1) v = body + 0.2 * body * x;
        if ((x + 0.3) ** 2 + (y - 0.1) ** 2 + z ** 2 < 0.04) v = blob;
        if ((x - 0.35) ** 2 + (y + 0.2) ** 2 < 0.02) v = blob * 0.8;
        data[k * rows * columns + j * columns + i] = v + (kind === 'mr' && v === 0 ? 0 : noise() * 0.05 * Math.abs(blob - bg));
      }
    }
  }
  const origin: [number, number, number] = [-(columns * spacing[0]) / 2, -(rows * spacing[1]) / 2, 0];
  return {
    columns,
    rows,
    slices,
    spacing,
    origin,
    orientation: [1, 0, 0, 0, 1, 0],
    normal: [0, 0, 1],
    frameOfReferenceUid: '2.25.1',
    data,
    sources: Array.from({ length: slices }, (_, k) => ({
      sopInstanceUid: `2.25.1.${k + 1}`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.4',
      imagePositionPatient: [origin[0], origin[1], k * spacing[2]] as [number, number, number],
    })),
  };
}
