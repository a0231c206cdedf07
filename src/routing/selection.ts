import type { NumberCondition, PlaneOrientation, SeriesSelection, StringCondition, StudyConditions } from '../domain/manifest';
import type { SeriesInfo } from '../domain/study';
import {
  SERIES_NUMBER_ATTRIBUTES,
  SERIES_STRING_ATTRIBUTES,
  sliceCount,
  sliceThicknessOf,
  STUDY_NUMBER_ATTRIBUTES,
  STUDY_STRING_ATTRIBUTES,
  type StudyFacts,
} from './attributes';
import { compileNumberCondition, numberConditionProblems } from './match-number';
import { compileStringCondition, regexProblem, stringConditionProblems } from './match-string';
import { DEFAULT_ORIENTATION_TOLERANCE_DEGREES, seriesOrientation, type SeriesOrientation } from './orientation';
import { exclusionReasons } from './series-kinds';

type Check<T> = (from: T) => string[];

const listed = (reason: string | undefined): string[] => (reason === undefined ? [] : [reason]);

/** A selection with its regexes and comparisons built once; evaluating it is pure. */
export interface CompiledSelection {
  readonly select: SeriesSelection;
  /** Why the study (or its intake event) is not accepted; empty when it is. */
  studyReasons(facts: StudyFacts): string[];
  /** Why the series is not accepted; empty when it is. */
  seriesReasons(series: SeriesInfo): string[];
  orientationOf(series: SeriesInfo): SeriesOrientation;
  /** Preference order of accepted series (negative: a before b). Deterministic whatever the listing order. */
  compare(a: SeriesInfo, b: SeriesInfo): number;
  readonly matches: 'first' | 'all';
}

function conditionChecks<T>(
  conditions: Record<string, StringCondition | NumberCondition | undefined>,
  strings: Record<string, (from: T) => string[]>,
  numbers: Record<string, (from: T) => number[]>,
): Check<T>[] {
  const checks: Check<T>[] = [];
  for (const [name, condition] of Object.entries(conditions)) {
    if (condition === undefined) continue;
    const strValues = strings[name];
    const numValues = numbers[name];
    if (strValues) {
      const m = compileStringCondition(condition as StringCondition);
      checks.push((from) => listed(m.check(name, strValues(from))));
    } else if (numValues) {
      const m = compileNumberCondition(condition as NumberCondition);
      checks.push((from) => listed(m.check(name, numValues(from))));
    } else {
      // The schema lists the attributes; reaching this means a manifest skipped validation.
      throw new Error(`unknown routing attribute ${name}`);
    }
  }
  return checks;
}

const compareUid = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byMostSlices(a: SeriesInfo, b: SeriesInfo): number {
  return (
    sliceCount(b) - sliceCount(a) ||
    (a.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.seriesNumber ?? Number.MAX_SAFE_INTEGER) ||
    compareUid(a.seriesInstanceUid, b.seriesInstanceUid)
  );
}

function byThinnestSlices(a: SeriesInfo, b: SeriesInfo): number {
  const ta = sliceThicknessOf(a) ?? Number.POSITIVE_INFINITY;
  const tb = sliceThicknessOf(b) ?? Number.POSITIVE_INFINITY;
  if (Math.abs(ta - tb) > 1e-6) return ta < tb ? -1 : 1;
  return byMostSlices(a, b);
}

function planes(o: SeriesSelection['orientation']): PlaneOrientation[] {
  return o === undefined ? [] : Array.isArray(o) ? o : [o];
}

function buildSelection(select: SeriesSelection): CompiledSelection {
  const studyChecks = conditionChecks<StudyFacts>((select.study ?? {}) as StudyConditions as Record<string, StringCondition | NumberCondition | undefined>, STUDY_STRING_ATTRIBUTES, STUDY_NUMBER_ATTRIBUTES);
  const seriesChecks: Check<SeriesInfo>[] = [];
  const modality = compileStringCondition(select.modality);
  seriesChecks.push((s) => listed(modality.check('Modality', s.modality ? [s.modality] : [])));
  if (select.bodyPartExamined !== undefined) {
    const bodyPart = compileStringCondition(select.bodyPartExamined);
    seriesChecks.push((s) => listed(bodyPart.check('BodyPartExamined', s.bodyPartExamined ? [s.bodyPartExamined] : [])));
  }
  if (select.seriesDescription !== undefined) {
    const description = compileStringCondition({ regex: select.seriesDescription });
    seriesChecks.push((s) => listed(description.check('SeriesDescription', s.seriesDescription ? [s.seriesDescription] : [])));
  }
  seriesChecks.push(...conditionChecks<SeriesInfo>((select.series ?? {}) as Record<string, StringCondition | NumberCondition | undefined>, SERIES_STRING_ATTRIBUTES, SERIES_NUMBER_ATTRIBUTES));

  const tolerance = select.orientationToleranceDegrees ?? DEFAULT_ORIENTATION_TOLERANCE_DEGREES;
  const orientationOf = (s: SeriesInfo): SeriesOrientation => seriesOrientation(s, tolerance);
  const wanted = planes(select.orientation);
  if (wanted.length > 0) {
    seriesChecks.push((s) => {
      const o = orientationOf(s);
      return (wanted as string[]).includes(o) ? [] : [`orientation ${o} is not ${wanted.join(' | ')}`];
    });
  }
  seriesChecks.push((s) => exclusionReasons(s, select.exclude));
  if (select.minSlices !== undefined) {
    const min = select.minSlices;
    seriesChecks.push((s) => {
      const n = sliceCount(s);
      return n < min ? [`${n} slices < minimum ${min}`] : [];
    });
  }
  const run = <T>(checks: Check<T>[], from: T): string[] => checks.flatMap((c) => c(from));
  return {
    select,
    studyReasons: (facts) => run(studyChecks, facts),
    seriesReasons: (series) => run(seriesChecks, series),
    orientationOf,
    compare: select.prefer === 'thinnest-slices' ? byThinnestSlices : byMostSlices,
    matches: select.matches ?? 'first',
  };
}

const cache = new WeakMap<SeriesSelection, CompiledSelection>();

/** Compiles a selection once per selection object (manifests and route rules are loaded once). */
export function compileSelection(select: SeriesSelection): CompiledSelection {
  let compiled = cache.get(select);
  if (!compiled) {
    compiled = buildSelection(select);
    cache.set(select, compiled);
  }
  return compiled;
}

function conditionsProblems(conditions: Record<string, unknown> | undefined, numbers: Record<string, unknown>, at: string): string[] {
  return Object.entries(conditions ?? {}).flatMap(([name, c]) =>
    name in numbers ? numberConditionProblems(c as NumberCondition, `${at}/${name}`) : stringConditionProblems(c as StringCondition, `${at}/${name}`),
  );
}

/** What a JSON Schema cannot check in a (schema-valid) selection: regexes that do not compile or look unsafe, inverted ranges. */
export function selectionProblems(select: Partial<SeriesSelection>, at: string): string[] {
  const problems: string[] = [];
  if (select.modality !== undefined) problems.push(...stringConditionProblems(select.modality, `${at}/modality`));
  if (select.bodyPartExamined !== undefined) problems.push(...stringConditionProblems(select.bodyPartExamined, `${at}/bodyPartExamined`));
  if (select.seriesDescription !== undefined) {
    const p = regexProblem(select.seriesDescription);
    if (p) problems.push(`${at}/seriesDescription ${p}`);
  }
  problems.push(...conditionsProblems(select.study as Record<string, unknown> | undefined, STUDY_NUMBER_ATTRIBUTES, `${at}/study`));
  problems.push(...conditionsProblems(select.series as Record<string, unknown> | undefined, SERIES_NUMBER_ATTRIBUTES, `${at}/series`));
  return problems;
}

/** Study-level condition problems (route rules' when blocks). */
export function studyConditionsProblems(conditions: StudyConditions, at: string): string[] {
  return conditionsProblems(conditions as Record<string, unknown>, STUDY_NUMBER_ATTRIBUTES, at);
}

/** Compiled study-level conditions, for route rules' when blocks. */
export function compileStudyConditions(conditions: StudyConditions): (facts: StudyFacts) => string[] {
  const checks = conditionChecks<StudyFacts>(conditions as Record<string, StringCondition | NumberCondition | undefined>, STUDY_STRING_ATTRIBUTES, STUDY_NUMBER_ATTRIBUTES);
  return (facts) => checks.flatMap((c) => c(facts));
}
