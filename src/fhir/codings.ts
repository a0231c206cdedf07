import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { type Code, fhirSystemFor } from '../domain/codes';

export function coding(code: Code): Coding {
  return { system: fhirSystemFor(code.scheme), code: code.value, display: code.meaning };
}

export function concept(code: Code, text?: string): CodeableConcept {
  return text ? { coding: [coding(code)], text } : { coding: [coding(code)] };
}
