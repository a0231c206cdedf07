import type { NumberCondition } from '../domain/manifest';

/** Numbers equal within this tolerance (DICOM DS values are decimal strings; 0.1 + 0.2 must equal 0.3). */
const EPSILON = 1e-6;

export const COMPARISON = /^\s*(<=|>=|!=|==|<|>|=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

type Op = '<' | '<=' | '>' | '>=' | '=' | '!=';

export interface NumberMatcher {
  /** Why the values fail the condition, or undefined. Every value must satisfy it; no value fails. */
  check(name: string, values: readonly number[]): string | undefined;
}

interface Test {
  test(v: number): boolean;
  text: string;
}

function comparison(op: Op, x: number): Test {
  const tests: Record<Op, (v: number) => boolean> = {
    '<': (v) => v < x - EPSILON,
    '<=': (v) => v <= x + EPSILON,
    '>': (v) => v > x + EPSILON,
    '>=': (v) => v >= x - EPSILON,
    '=': (v) => Math.abs(v - x) <= EPSILON,
    '!=': (v) => Math.abs(v - x) > EPSILON,
  };
  return { test: tests[op], text: `${op} ${x}` };
}

function compileTest(condition: NumberCondition): Test {
  if (typeof condition === 'number') return comparison('=', condition);
  if (Array.isArray(condition)) {
    const [min, max] = condition;
    return { test: (v) => v >= min - EPSILON && v <= max + EPSILON, text: `in [${min}, ${max}]` };
  }
  const m = COMPARISON.exec(condition);
  if (!m) throw new Error(`"${condition}" is not a comparison such as ">= 3" or "< 5.5"`);
  const op = (m[1] === '==' ? '=' : m[1]) as Op;
  return comparison(op, Number(m[2]));
}

/** Compiles a number condition: a number (equality), a comparison string, or an inclusive range [min, max]. */
export function compileNumberCondition(condition: NumberCondition): NumberMatcher {
  const t = compileTest(condition);
  return {
    check(name, values) {
      if (values.length === 0) return `${name} (none) is not ${t.text}`;
      const bad = values.find((v) => !t.test(v));
      return bad === undefined ? undefined : `${name} ${values.join('\\')} is not ${t.text}`;
    },
  };
}

/** Problems a schema cannot see: a range whose min exceeds its max. */
export function numberConditionProblems(condition: NumberCondition, at: string): string[] {
  if (Array.isArray(condition) && !(condition[0] <= condition[1])) return [`${at} range needs min <= max (has ${condition[0]} and ${condition[1]})`];
  return [];
}
