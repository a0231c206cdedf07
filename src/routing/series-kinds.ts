import type { DefaultExclusions } from '../domain/manifest';
import type { SeriesInfo } from '../domain/study';

/** Secondary Capture Image Storage (…1.1.7) and the multi-frame SC classes (…1.1.7.1 to …1.1.7.4). */
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const RT_IMAGE = '1.2.840.10008.5.1.4.1.1.481.1';

/** SOP class roots of objects that carry no image a model could read. */
const NON_IMAGE_ROOTS = [
  '1.2.840.10008.5.1.4.1.1.66', // raw data, registrations, fiducials, SEG (66.4), surface SEG, tractography
  '1.2.840.10008.5.1.4.1.1.88', // structured reports, key object selection
  '1.2.840.10008.5.1.4.1.1.11', // presentation states
  '1.2.840.10008.5.1.4.1.1.104', // encapsulated PDF/CDA/STL
  '1.2.840.10008.5.1.4.1.1.9', // waveforms
  '1.2.840.10008.5.1.4.1.1.481', // RT objects (RTSTRUCT 481.3, plans, dose, records) except RT Image
];
const NON_IMAGE_MODALITIES = new Set(['SEG', 'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'RTRECORD', 'SR', 'PR', 'KO', 'DOC', 'REG', 'FID', 'RWV', 'PLAN']);

/** The default flags: derived series are accepted unless a selection says otherwise (docs/routing.md explains). */
export const DEFAULT_EXCLUSIONS: Required<DefaultExclusions> = { localizer: true, derived: false, secondaryCapture: true, nonImage: true };

function underRoot(uid: string, root: string): boolean {
  return uid === root || uid.startsWith(`${root}.`);
}

function everyInstance(series: SeriesInfo, test: (sopClassUid: string) => boolean): boolean {
  return series.instances.length > 0 && series.instances.every((i) => test(i.sopClassUid));
}

const hasImageType = (series: SeriesInfo, value: string, index?: number): boolean =>
  (series.imageType ?? []).some((t, i) => (index === undefined || i === index) && t.trim().toUpperCase() === value);

/** Why a series falls under one of the enabled default exclusions (empty when none applies). */
export function exclusionReasons(series: SeriesInfo, exclude: DefaultExclusions | undefined): string[] {
  const flags = { ...DEFAULT_EXCLUSIONS, ...exclude };
  const reasons: string[] = [];
  if (flags.localizer && hasImageType(series, 'LOCALIZER')) reasons.push('series is a localizer (ImageType LOCALIZER)');
  if (flags.derived && hasImageType(series, 'DERIVED', 0)) reasons.push('series is derived (ImageType DERIVED)');
  if (flags.secondaryCapture && everyInstance(series, (c) => underRoot(c, SECONDARY_CAPTURE))) reasons.push('series is a secondary capture');
  if (flags.nonImage) {
    const modality = series.modality.trim().toUpperCase();
    const nonImageClass = (c: string): boolean => c !== RT_IMAGE && NON_IMAGE_ROOTS.some((r) => underRoot(c, r));
    if (NON_IMAGE_MODALITIES.has(modality) || everyInstance(series, nonImageClass)) reasons.push(`series is not an image series (${series.modality || 'non-image SOP class'})`);
  }
  return reasons;
}
