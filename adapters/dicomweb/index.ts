export { DicomWebAdapter, sopInstanceUidOf, type DicomWebAuth, type DicomWebConfig } from './dicomweb-adapter';
export { parseStowResponse, studyInfoFromMetadata, type DicomJsonDataset, type StowOutcome } from './dicom-json';
