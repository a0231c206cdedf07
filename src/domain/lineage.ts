import { createHash } from 'node:crypto';

/**
 * A result lineage is "the same result, recomputed": one model on one series of one study. Jobs of one lineage
 * differ only in the instance set (a late instance, a deleted one) or the model file (a new version), so at most one
 * of their results is current and the others are superseded (docs/decisions/0009-supersede-policy.md).
 * The model version and digest are left out on purpose: a newer model on the same series replaces the older result.
 */
export function resultLineage(input: { studyInstanceUid: string; seriesInstanceUid: string; modelId: string }): string {
  const h = createHash('sha256');
  h.update(`study=${input.studyInstanceUid}\n`);
  h.update(`series=${input.seriesInstanceUid}\n`);
  h.update(`model=${input.modelId}\n`);
  return h.digest('hex');
}

/** What a job wrote, as far as superseding it needs to know: enough to find and retire it later. */
export interface LineageOutputs {
  /** FHIR DiagnosticReport id on the server. */
  reportId?: string;
  segSopInstanceUid?: string;
  segSeriesInstanceUid?: string;
}

/** One job's recorded results within its lineage. */
export interface LineageResult {
  lineage: string;
  jobId: string;
  outputs: LineageOutputs;
  /** True once its outputs were retired (report entered-in-error, SEG deleted) in favour of a newer result. */
  retired: boolean;
}

/** The answer of JobStore.settleLineage: who is current, and whose outputs still have to be retired. */
export interface LineageSettlement {
  /** The recorded result whose job was created last: newest knowledge of the study wins, not finishing order. */
  current: LineageResult;
  /** Older recorded results not yet retired, oldest first (may include the caller's own job when it is stale). */
  superseded: LineageResult[];
}

/** The lineage as one job sees it before writing outputs. */
export interface LineageView {
  /** The current result; undefined when no job of the lineage has recorded results yet. */
  current?: LineageResult;
  /** True when the current result's job was created after the asking job: the asker's result would be stale. */
  currentIsNewer: boolean;
}
