// Minimal typings for the parts of dcmjs this project uses (dcmjs ships no TypeScript declarations).
declare module 'dcmjs' {
  /** A denaturalized element: { vr, Value }. */
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
  }
  export type DenaturalizedDataset = Record<string, DicomElement>;
  /** Keyword-keyed dataset as dcmjs naturalizes it. */
  export type NaturalDataset = Record<string, unknown>;

  export interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  export class DicomDict {
    constructor(meta: DenaturalizedDataset);
    meta: DenaturalizedDataset;
    dict: DenaturalizedDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }

  export namespace data {
    export { DicomDict };
    class DicomMessage {
      static readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    }
    class DicomMetaDictionary {
      static naturalizeDataset(dataset: DenaturalizedDataset): NaturalDataset;
      static denaturalizeDataset(dataset: NaturalDataset): DenaturalizedDataset;
      static uid(): string;
      static date(): string;
      static time(): string;
      static dictionary: Record<string, { tag: string; vr: string; name: string; vm: string }>;
      static nameMap: Record<string, { tag: string; vr: string; name: string; vm: string }>;
    }
    export { DicomMessage, DicomMetaDictionary };
  }

  export const log: { level: unknown; setLevel?(level: string): void; disableAll?(): void; getLogger?(name: string): unknown };

  const dcmjs: { data: typeof data; log: typeof log };
  export default dcmjs;
}
