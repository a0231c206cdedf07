export { DicomWebAdapter, sopInstanceUidOf, type DicomWebAuth, type DicomWebConfig } from './dicomweb-adapter';
export { parseStowResponse, studyInfoFromMetadata, type DicomJsonDataset, type StowOutcome } from './dicom-json';
export { QidoPoller, type QidoPollerOptions, type PollOutcome } from './qido-poller';
