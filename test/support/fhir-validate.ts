import { validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../../adapters/fhir-embedded/r4-definitions';

export { loadR4Definitions };

/** R4 validation issues of severity error (or fatal); [] when the resource is valid. */
export function fhirErrors(resource: Resource): OperationOutcomeIssue[] {
  loadR4Definitions();
  try {
    return validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (err) {
    // Older @medplum/core versions throw an OperationOutcomeError instead of returning the issues.
    const issues = (err as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome?.issue;
    if (issues) return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    throw err;
  }
}

/** Readable one-line-per-issue form for assertion messages. */
export function describeIssues(issues: OperationOutcomeIssue[]): string {
  return issues.map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`).join('\n');
}
