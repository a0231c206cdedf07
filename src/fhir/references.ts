/**
 * The "Type/id" part of a FHIR reference, relative or absolute, with or without a version:
 * "Observation/1", "http://server/fhir/Observation/1/_history/2" → "Observation/1". The id must be a FHIR id
 * ([A-Za-z0-9-.]{1,64}); anything else (a urn:uuid, a contained "#x") gives undefined.
 */
export function relativeReference(reference: string | undefined): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference ?? '');
  return m?.[1];
}
