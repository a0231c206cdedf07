import XMLHttpRequest from 'xhr2';

export interface NodeXhrOptions {
  /** Milliseconds before a request is abandoned (0 = none). */
  timeoutMs: number;
  /**
   * Appends `transfer-syntax=*` to dicomweb-client's Accept header for Part 10 retrieval, so the PACS sends
   * instances as stored instead of transcoding them to Explicit VR Little Endian (the DICOMweb default).
   * dicomweb-client 0.11 cannot ask for it itself: passing mediaTypes to retrieveInstance throws.
   */
  anyTransferSyntax: boolean;
}

const PART10_ACCEPT = 'multipart/related; type="application/dicom"';

/** The XMLHttpRequest dicomweb-client uses in Node: xhr2 with a timeout and the transfer-syntax choice. */
export function createNodeXhr(options: NodeXhrOptions): XMLHttpRequest {
  class DicomWebXhr extends XMLHttpRequest {
    override setRequestHeader(name: string, value: string): void {
      if (options.anyTransferSyntax && name.toLowerCase() === 'accept' && value === PART10_ACCEPT) {
        super.setRequestHeader(name, `${value}; transfer-syntax=*`);
        return;
      }
      super.setRequestHeader(name, value);
    }
  }
  const xhr = new DicomWebXhr();
  xhr.timeout = options.timeoutMs;
  return xhr;
}
