import Ajv, { type ErrorObject } from 'ajv';
import type { SeriesSelection, StudyConditions } from '../domain/manifest';
import manifestSchema from '../../models/manifest.schema.json';
import type { StudyFacts } from './attributes';
import { compileStudyConditions, selectionProblems, studyConditionsProblems } from './selection';

/**
 * A route rule from the configuration (key `routes`): for the models it names (or all), when the study matches,
 * either switch the model off or replace parts of its manifest's selection. See docs/routing.md.
 */
export interface RouteRule {
  name: string;
  /** Model ids the rule is about; absent = every model. */
  models?: string[];
  /** Study/event conditions; absent = every study. */
  when?: StudyConditions;
  /** false: the models do not run on matching studies (default true). */
  enabled?: boolean;
  /** Selection keys that replace the manifest's (exclude flags are merged). */
  select?: Partial<SeriesSelection>;
}

/** What the rules decide for one model and one study. */
export interface ModelRoute {
  enabled: boolean;
  /** Name of the rule that decided, if any. */
  rule?: string;
  /** The selection to apply: the manifest's, or the manifest's with the rule's select keys. */
  select: SeriesSelection;
}

// Same options as the manifest registry (the manifest schema's intensity ops use a discriminator).
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, discriminator: true });
ajv.addSchema(manifestSchema);
const validateRules = ajv.compile<RouteRule[]>({
  type: 'array',
  items: { $ref: 'https://clinical-ai.local/schemas/model-manifest.json#/definitions/routeRule' },
});

function describe(e: ErrorObject, at: string): string {
  const where = `${at}${e.instancePath}`;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${where} has unknown property "${String(params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * Every problem of a `routes` value, each starting with its path (e.g. "routes/1/when/StudyDescription/0/regex …"):
 * the JSON Schema first, then what it cannot say (regexes, ranges, duplicate names).
 */
export function routeRulesProblems(json: unknown, at = 'routes'): string[] {
  if (!validateRules(json)) return (validateRules.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => describe(e, at));
  const problems: string[] = [];
  const names = new Set<string>();
  json.forEach((rule, i) => {
    if (names.has(rule.name)) problems.push(`${at}/${i}/name "${rule.name}" is used by an earlier rule`);
    names.add(rule.name);
    if (rule.when) problems.push(...studyConditionsProblems(rule.when, `${at}/${i}/when`));
    if (rule.select) problems.push(...selectionProblems(rule.select, `${at}/${i}/select`));
  });
  return problems;
}

/** Rules that name models which are not loaded (a typo would otherwise silently never apply). */
export function unknownModelProblems(rules: readonly RouteRule[], modelIds: readonly string[], at = 'routes'): string[] {
  const known = new Set(modelIds);
  return rules.flatMap((rule, i) => (rule.models ?? []).filter((id) => !known.has(id)).map((id) => `${at}/${i}/models names "${id}", which is not a loaded model`));
}

const whenCache = new WeakMap<RouteRule, (facts: StudyFacts) => string[]>();
const selectCache = new WeakMap<RouteRule, WeakMap<SeriesSelection, SeriesSelection>>();

function whenHolds(rule: RouteRule, facts: StudyFacts): boolean {
  if (!rule.when) return true;
  let check = whenCache.get(rule);
  if (!check) {
    check = compileStudyConditions(rule.when);
    whenCache.set(rule, check);
  }
  return check(facts).length === 0;
}

/** The manifest's selection with the rule's keys laid over it; the same object each time, so it compiles once. */
function overlaid(rule: RouteRule, base: SeriesSelection): SeriesSelection {
  if (!rule.select) return base;
  let byBase = selectCache.get(rule);
  if (!byBase) {
    byBase = new WeakMap();
    selectCache.set(rule, byBase);
  }
  let merged = byBase.get(base);
  if (!merged) {
    merged = { ...base, ...rule.select } as SeriesSelection;
    if (base.exclude || rule.select.exclude) merged.exclude = { ...base.exclude, ...rule.select.exclude };
    byBase.set(base, merged);
  }
  return merged;
}

/** First rule that names the model (or no model) and whose when-conditions hold decides; none: the manifest as is. */
export function resolveModelRoute(modelId: string, manifestSelect: SeriesSelection, rules: readonly RouteRule[], facts: StudyFacts): ModelRoute {
  for (const rule of rules) {
    if (rule.models && !rule.models.includes(modelId)) continue;
    if (!whenHolds(rule, facts)) continue;
    if (rule.enabled === false) return { enabled: false, rule: rule.name, select: manifestSelect };
    return { enabled: true, rule: rule.name, select: overlaid(rule, manifestSelect) };
  }
  return { enabled: true, select: manifestSelect };
}
