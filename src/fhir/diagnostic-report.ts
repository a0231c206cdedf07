import type { DiagnosticReport, Identifier } from '@medplum/fhirtypes';
import { CODES } from '../domain/codes';
import type { BundleRefs, ResultContext } from './context';
import { concept } from './codings';
import { fhirDateTime, fhirInstant } from './datetime';
import { SYSTEMS } from './identifiers';
import { REPORT_REPLACES_EXTENSION, replacingStatus } from './supersede';

export function reportIdentifier(key: string): Identifier {
  return { system: SYSTEMS.job, value: key };
}

/** One line per finding; no patient data (the summary also goes to job results and logs). */
export function findingsSummary(ctx: ResultContext): string[] {
  const f = ctx.findings;
  if (f.kind === 'segmentation') {
    if (f.segments.length === 0) return ['No segment found.'];
    return f.segments.map((s) => `${s.label}: ${s.volumeMl.toFixed(1)} mL (segment ${s.segmentNumber})`);
  }
  return f.classes.map(
    (c) => `${c.label}: ${c.present ? 'present' : 'absent'} (probability ${c.probability.toFixed(3)}, threshold ${c.threshold})`,
  );
}

export function conclusionText(ctx: ResultContext): string {
  const lines = [
    ...(ctx.clinicalUseNotice ? [ctx.clinicalUseNotice] : []),
    `Automated result of ${ctx.model.name} ${ctx.model.version} (AI). ${findingsSummary(ctx).join('; ')}`,
  ];
  return lines.join('\n');
}

/** The readable report: what ran, on what, and what it found. */
export function presentedText(ctx: ResultContext): string {
  const notice = ctx.clinicalUseNotice ? [`*** ${ctx.clinicalUseNotice} ***`, ''] : [];
  return [
    ...notice,
    `${ctx.model.name} (version ${ctx.model.version}, by ${ctx.model.manufacturer})`,
    `Automated ${ctx.model.task} by an AI model; status ${replacingStatus(ctx.reportStatus, ctx.replaces !== undefined)}.`,
    ...(ctx.replaces ? ['This result replaces an earlier one computed on fewer or other images of the series.'] : []),
    `Study ${ctx.study.studyInstanceUid}, series ${ctx.seriesInstanceUid}.`,
    '',
    'Findings:',
    ...findingsSummary(ctx).map((l) => `- ${l}`),
    '',
    `Intended use: ${ctx.model.intendedUse}`,
    '',
  ].join('\n');
}

export function buildDiagnosticReport(ctx: ResultContext, refs: BundleRefs, observationRefs: string[]): DiagnosticReport {
  const issued = fhirInstant(ctx.issued);
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: [reportIdentifier(ctx.idempotencyKey), ...(ctx.lineage ? [{ system: SYSTEMS.lineage, value: ctx.lineage }] : [])],
    status: replacingStatus(ctx.reportStatus, ctx.replaces !== undefined),
    category: [concept(CODES.imagingReportCategory)],
    code: concept(ctx.model.reportCode ?? CODES.diagnosticImagingStudy, ctx.model.name),
    subject: { reference: refs.patient },
    effectiveDateTime: fhirDateTime(ctx.study.studyDate, ctx.study.studyTime, ctx.studyTimezoneOffset) ?? issued,
    issued,
    imagingStudy: [{ reference: refs.imagingStudy }],
    conclusion: conclusionText(ctx),
    presentedForm: [
      {
        contentType: 'text/plain; charset=utf-8',
        language: 'en',
        title: `${ctx.model.name} ${ctx.model.version}`,
        data: Buffer.from(presentedText(ctx), 'utf8').toString('base64'),
        creation: issued,
      },
    ],
  };
  if (ctx.replaces) report.extension = [{ url: REPORT_REPLACES_EXTENSION, valueReference: { reference: ctx.replaces } }];
  if (observationRefs.length) report.result = observationRefs.map((reference) => ({ reference }));
  return report;
}
