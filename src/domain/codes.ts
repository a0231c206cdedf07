/** A coded concept, DICOM style (scheme designator) with its FHIR system derivable from the scheme. */
export interface Code {
  /** CodeValue, e.g. "12738006". */
  value: string;
  /** CodingSchemeDesignator, e.g. "SCT", "DCM", "LN". Never "SRT". */
  scheme: string;
  /** CodeMeaning, e.g. "Brain". */
  meaning: string;
}

export const FHIR_SYSTEMS: Record<string, string> = {
  SCT: 'http://snomed.info/sct',
  DCM: 'http://dicom.nema.org/resources/ontology/DCM',
  LN: 'http://loinc.org',
  UCUM: 'http://unitsofmeasure.org',
};

export function fhirSystemFor(scheme: string): string {
  return FHIR_SYSTEMS[scheme] ?? `urn:dicom:scheme:${scheme}`;
}

export const CODES = {
  anatomicalStructure: { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' },
  tissue: { value: '85756007', scheme: 'SCT', meaning: 'Tissue' },
  morphologicallyAbnormalStructure: { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Abnormal Structure' },
  brain: { value: '12738006', scheme: 'SCT', meaning: 'Brain' },
  artificialIntelligence: { value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' },
  segmentation: { value: '113076', scheme: 'DCM', meaning: 'Segmentation' },
  sourceImageForProcessing: { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' },
  imagingReportCategory: { value: 'LP29684-5', scheme: 'LN', meaning: 'Radiology' },
  diagnosticImagingStudy: { value: '18748-4', scheme: 'LN', meaning: 'Diagnostic imaging study' },
} as const satisfies Record<string, Code>;
