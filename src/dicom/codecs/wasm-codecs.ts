import { Context, NativeCodecs } from 'dcmjs-codecs';
import { AppError } from '../../domain/errors';

/**
 * One frame decoder over dcmjs-codecs (a single WebAssembly build of DCMTK's IJG JPEG, CharLS, OpenJPEG, OpenJPH and
 * DCMTK's RLE decoder). See docs/decisions/0005-pixel-codecs.md for why this package.
 *
 * The WebAssembly module is instantiated asynchronously once (loadPixelCodecs); decoding is synchronous after that.
 * A codec error is thrown out of the WebAssembly code by a JavaScript import, which skips the C++ clean-up of that
 * frame's buffers; so after an error the instance is marked dirty and the next loadPixelCodecs() starts a fresh one.
 */

export type CodecFamily = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000' | 'htj2k';

export const CODEC_FAMILY: Readonly<Record<string, CodecFamily>> = {
  '1.2.840.10008.1.2.5': 'rle',
  '1.2.840.10008.1.2.4.50': 'jpeg',
  '1.2.840.10008.1.2.4.51': 'jpeg',
  '1.2.840.10008.1.2.4.57': 'jpeg',
  '1.2.840.10008.1.2.4.70': 'jpeg',
  '1.2.840.10008.1.2.4.80': 'jpeg-ls',
  '1.2.840.10008.1.2.4.81': 'jpeg-ls',
  '1.2.840.10008.1.2.4.90': 'jpeg2000',
  '1.2.840.10008.1.2.4.91': 'jpeg2000',
  '1.2.840.10008.1.2.4.201': 'htj2k',
  '1.2.840.10008.1.2.4.202': 'htj2k',
  '1.2.840.10008.1.2.4.203': 'htj2k',
};

export interface FrameLayout {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  signed: boolean;
  planarConfiguration: 0 | 1;
  photometric: string;
}

export interface DecodedFrameBytes {
  /** Stored values, little endian, bitsAllocated per sample. */
  bytes: Uint8Array;
  /** Layout of the decoded samples (codecs may interleave planar input). */
  planarConfiguration: 0 | 1;
  /** Photometric interpretation of the decoded samples (e.g. RGB after JPEG's YCbCr conversion). */
  photometric: string;
}

let loading: Promise<void> | undefined;
let dirty = false;

/** Instantiates the codec WebAssembly (once; again after a codec error left the old instance dirty). */
export async function loadPixelCodecs(): Promise<void> {
  if (dirty) {
    NativeCodecs.release();
    loading = undefined;
    dirty = false;
  }
  loading ??= NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false }).catch((err: unknown) => {
    loading = undefined;
    throw new AppError('INTERNAL', `pixel codecs could not be loaded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  await loading;
}

export function pixelCodecsLoaded(): boolean {
  return NativeCodecs.isInitialized();
}

/** JPEG YCbCr is turned into RGB by the codec (as DCMTK's dcmdjpeg does by default) so values match its decoder. */
function jpegConvertsToRgb(photometric: string): boolean {
  return photometric.startsWith('YBR_');
}

function decodedPhotometric(family: CodecFamily, layout: FrameLayout, fromCodec: string | undefined): string {
  if (layout.samplesPerPixel === 1) return layout.photometric;
  // OpenJPEG/OpenJPH undo the reversible/irreversible component transform themselves.
  if (family === 'jpeg2000' || family === 'htj2k') return layout.photometric === 'YBR_ICT' || layout.photometric === 'YBR_RCT' ? 'RGB' : layout.photometric;
  if (family === 'jpeg' && jpegConvertsToRgb(layout.photometric)) return 'RGB';
  return fromCodec ?? layout.photometric;
}

function codecMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Codec messages carry C++ class prefixes ("Jpeg2000Buffer::OpjMessageCallbackError::…"); keep the reason.
  return text.replace(/\s+/g, ' ').trim().slice(0, 240) || 'unknown codec error';
}

/**
 * CharLS hands back a JPEG-LS colour image coded without interleave (ILV 0: one scan per component) as planes,
 * whatever the dataset's PlanarConfiguration says (PS3.5 8.2.3 leaves the layout to the codestream). The first scan
 * header tells: one component in it means planes.
 */
export function jpegLsScanIsPerComponent(encoded: Uint8Array): boolean {
  let at = 2; // after SOI
  while (at + 4 <= encoded.length) {
    if (encoded[at] !== 0xff) return false;
    const marker = encoded[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = ((encoded[at + 2] as number) << 8) | (encoded[at + 3] as number);
    if (marker === 0xda) return encoded[at + 4] === 1;
    at += 2 + length;
  }
  return false;
}

/** Decodes one compressed frame to stored values. Throws BAD_DICOM for data the codec rejects. */
export function decodeFrame(transferSyntaxUid: string, encoded: Uint8Array, layout: FrameLayout): DecodedFrameBytes {
  const family = CODEC_FAMILY[transferSyntaxUid];
  if (!family) throw new AppError('UNSUPPORTED_TRANSFER_SYNTAX', `transfer syntax ${transferSyntaxUid} has no codec`);
  if (!NativeCodecs.isInitialized()) {
    throw new AppError('INTERNAL', 'pixel codecs are not loaded: await loadPixelCodecs() before decoding compressed images');
  }
  if (encoded.byteLength === 0) throw new AppError('BAD_DICOM', 'compressed frame is empty');
  const context = new Context({
    width: layout.columns,
    height: layout.rows,
    bitsAllocated: layout.bitsAllocated,
    bitsStored: layout.bitsStored,
    samplesPerPixel: layout.samplesPerPixel,
    pixelRepresentation: layout.signed ? 1 : 0,
    planarConfiguration: layout.planarConfiguration,
    photometricInterpretation: layout.photometric,
    encodedBuffer: encoded,
  });
  let out: Context;
  try {
    if (family === 'rle') out = NativeCodecs.decodeRle(context, {});
    else if (family === 'jpeg') out = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: jpegConvertsToRgb(layout.photometric) });
    else if (family === 'jpeg-ls') out = NativeCodecs.decodeJpegLs(context, {});
    else if (family === 'jpeg2000') out = NativeCodecs.decodeJpeg2000(context, {});
    else out = NativeCodecs.decodeHtJpeg2000(context, {});
  } catch (err) {
    // Both codec exceptions and WebAssembly traps (RuntimeError) land here; neither may take the process down.
    dirty = true;
    throw new AppError('BAD_DICOM', `${family} frame could not be decoded: ${codecMessage(err)}`, { cause: err });
  }
  const bytes = out.getDecodedBuffer();
  const expected = layout.rows * layout.columns * layout.samplesPerPixel * (layout.bitsAllocated / 8);
  if (!bytes || bytes.byteLength < expected) {
    throw new AppError('BAD_DICOM', `${family} frame decoded to ${bytes?.byteLength ?? 0} bytes, expected ${expected} for ${layout.rows}×${layout.columns}×${layout.samplesPerPixel} samples`);
  }
  return {
    bytes: bytes.byteLength === expected ? bytes : bytes.subarray(0, expected),
    planarConfiguration:
      out.getPlanarConfiguration() === 1 || (family === 'jpeg-ls' && layout.samplesPerPixel > 1 && jpegLsScanIsPerComponent(encoded)) ? 1 : 0,
    photometric: decodedPhotometric(family, layout, out.getPhotometricInterpretation()),
  };
}
