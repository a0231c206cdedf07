import type { StringCondition, StringTerm } from '../domain/manifest';

/** Longest regex source accepted; with DICOM values of at most 64 characters this bounds the matching cost. */
export const MAX_REGEX_LENGTH = 200;
/** Attribute values longer than this are cut before matching (no DICOM string VR used here is longer). */
const MAX_VALUE_LENGTH = 1024;

interface CompiledTerm {
  /** Exclusion term ("!value" or { regex, not: true }). */
  negated: boolean;
  test(value: string): boolean;
  /** How the term reads in a verdict, e.g. "T1", "!LOCALIZER", "/^ax/i". */
  text: string;
}

/** A string condition compiled once (regexes built at load), then applied to any number of series. */
export interface StringMatcher {
  /** Why the values fail the condition, or undefined when they pass. `name` is the attribute, for the message. */
  check(name: string, values: readonly string[]): string | undefined;
}

function normalise(value: string): string {
  return value.slice(0, MAX_VALUE_LENGTH).trim().toUpperCase();
}

/**
 * A group that itself holds a quantifier and is quantified again, e.g. (a+)+ or (\w*)*: the classic shape of
 * catastrophic backtracking. Rejected at load; real routing patterns do not need it.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

/** Why a regex source is unusable (undefined when it compiles and looks safe). */
export function regexProblem(source: string): string | undefined {
  if (source.length > MAX_REGEX_LENGTH) return `regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  if (NESTED_QUANTIFIER.test(source)) return 'regular expression has a nested quantifier such as (a+)+, which can backtrack catastrophically';
  try {
    new RegExp(source, 'i');
    return undefined;
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
}

function compileTerm(term: StringTerm): CompiledTerm {
  if (typeof term === 'string') {
    const negated = term.startsWith('!');
    const wanted = normalise(negated ? term.slice(1) : term);
    return { negated, test: (v) => normalise(v) === wanted, text: term };
  }
  const problem = regexProblem(term.regex);
  if (problem) throw new Error(`${problem}: /${term.regex}/`);
  const re = new RegExp(term.regex, 'i');
  const negated = term.not === true;
  return { negated, test: (v) => re.test(v.slice(0, MAX_VALUE_LENGTH)), text: `${negated ? '!' : ''}/${term.regex}/i` };
}

/**
 * Compiles a string condition. Semantics over the attribute's values (one value for single-valued attributes,
 * none when absent): at least one positive term must match some value (when there are positive terms), and no
 * exclusion term may match any value. Throws on an unusable regex (the registry reports it at load with its path).
 */
export function compileStringCondition(condition: StringCondition): StringMatcher {
  const terms = (Array.isArray(condition) ? condition : [condition]).map(compileTerm);
  const positive = terms.filter((t) => !t.negated);
  const negative = terms.filter((t) => t.negated);
  return {
    check(name, values) {
      const shown = values.length === 0 ? '(none)' : values.join('\\');
      for (const t of negative) {
        if (values.some((v) => t.test(v))) return `${name} ${shown} is excluded by ${t.text}`;
      }
      if (positive.length > 0 && !positive.some((t) => values.some((v) => t.test(v)))) {
        return `${name} ${shown} does not match ${positive.map((t) => t.text).join(' | ')}`;
      }
      return undefined;
    },
  };
}

/** Every problem of a string condition's regexes, each prefixed with its JSON path. */
export function stringConditionProblems(condition: StringCondition, at: string): string[] {
  const terms = Array.isArray(condition) ? condition.map((t, i) => [t, `${at}/${i}`] as const) : [[condition, at] as const];
  const problems: string[] = [];
  for (const [term, path] of terms) {
    if (typeof term === 'string') continue;
    const problem = regexProblem(term.regex);
    if (problem) problems.push(`${path}/regex ${problem}`);
  }
  return problems;
}
