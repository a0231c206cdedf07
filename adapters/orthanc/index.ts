export { OrthancChangeFeed, type OrthancChangeFeedOptions } from './change-feed';
export { MemoryCursorStore, type CursorStore } from './cursor-store';
export { createOrthancSource, type OrthancSourceOptions } from './orthanc-source';
export type { OrthancConnection } from './orthanc-rest';
export { OrthancReconciliation, type OrthancReconciliationOptions, type SweepOutcome } from './reconciliation';
export { OrthancIntake, type OrthancIntakeOptions } from './orthanc-intake';
