import { DicomWebAdapter, type DicomWebConfig } from '../dicomweb/dicomweb-adapter';

export interface OrthancSourceOptions extends Omit<DicomWebConfig, 'url' | 'auth'> {
  /** Orthanc's REST root, e.g. http://orthanc:8042 */
  baseUrl: string;
  auth?: { username: string; password: string };
  /** DICOMweb plugin root below baseUrl; default "/dicom-web" (the plugin's default Root). */
  dicomWebRoot?: string;
}

/**
 * Orthanc as ImagingSource and ImagingStore: metadata, retrieval and STOW go through its DICOMweb plugin, so the
 * same code path serves any DICOMweb PACS. Orthanc's own REST API is used only by the change feed.
 */
export function createOrthancSource(options: OrthancSourceOptions): DicomWebAdapter {
  const { baseUrl, dicomWebRoot, ...rest } = options;
  const root = (dicomWebRoot ?? '/dicom-web').replace(/\/+$/, '');
  return new DicomWebAdapter({ ...rest, url: `${baseUrl.replace(/\/+$/, '')}${root.startsWith('/') ? root : `/${root}`}` });
}
