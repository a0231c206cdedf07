export { OrthancChangeFeed, type OrthancChangeFeedOptions } from './change-feed';
export { MemoryCursorStore, type CursorStore } from './cursor-store';
export { createOrthancSource, type OrthancSourceOptions } from './orthanc-source';
export type { OrthancConnection } from './orthanc-rest';
