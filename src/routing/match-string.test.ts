import type { StringCondition } from '../domain/manifest';
import { compileStringCondition, regexProblem, stringConditionProblems } from './match-string';

describe('string conditions', () => {
  it.each<[string, StringCondition, string[], boolean]>([
    ['an exact value matches its own value', 'MR', ['MR'], true],
    ['an exact value ignores case and surrounding spaces', 'mr', [' MR '], true],
    ['an exact value is not a substring search', 'T1', ['T1 MPRAGE'], false],
    ['a list is any-of', ['CT', 'MR'], ['MR'], true],
    ['a list fails when no term matches', ['CT', 'PT'], ['MR'], false],
    ['a regex searches case-insensitively', { regex: 'mprage' }, ['Ax T1 MPRAGE'], true],
    ['a regex can be anchored', { regex: '^t1$' }, ['T1 MPRAGE'], false],
    ['an exclusion rejects a multi-valued attribute holding the value', ['!LOCALIZER'], ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], false],
    ['an exclusion alone accepts anything else', ['!LOCALIZER', '!DERIVED'], ['ORIGINAL', 'PRIMARY', 'AXIAL'], true],
    ['an exclusion ignores case', '!derived', ['DERIVED', 'SECONDARY'], false],
    ['an exclusion wins over a positive term', ['ORIGINAL', '!LOCALIZER'], ['ORIGINAL', 'PRIMARY', 'LOCALIZER'], false],
    ['a positive term with an exclusion accepts a value that is not excluded', ['ORIGINAL', '!LOCALIZER'], ['ORIGINAL', 'PRIMARY', 'AXIAL'], true],
    ['a negated regex excludes what it matches', [{ regex: 'scout|loc', not: true }], ['3-plane LOC'], false],
    ['a negated regex passes what it does not match', [{ regex: 'scout|loc', not: true }], ['T1 axial'], true],
    ['an absent attribute fails a positive term', ['HEAD'], [], false],
    ['an absent attribute passes an exclusion', ['!CONTRAST'], [], true],
    ['exact and regex terms mix in one list', ['T2', { regex: '^t1' }], ['t1_mprage_sag'], true],
  ])('when %s, then the verdict follows', (_name, condition, values, passes) => {
    const reason = compileStringCondition(condition).check('Attr', values);
    if (passes) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/^Attr /);
  });

  it('when a value is excluded, then the reason names the value and the exclusion', () => {
    expect(compileStringCondition(['!LOCALIZER']).check('ImageType', ['ORIGINAL', 'LOCALIZER'])).toBe('ImageType ORIGINAL\\LOCALIZER is excluded by !LOCALIZER');
  });

  it.each([
    ['(a+)+$', /nested quantifier/],
    ['(\\w*)*x', /nested quantifier/],
    ['(ab|cd{1,3})+', /nested quantifier/],
    ['x'.repeat(201), /longer than 200/],
    ['t1(', /not a valid regular expression/],
  ])('when a regex is %s, then it is refused before use', (source, expected) => {
    expect(regexProblem(source)).toMatch(expected);
    expect(() => compileStringCondition({ regex: source })).toThrow(expected);
  });

  it('when a regex is ordinary, then nothing is reported', () => {
    expect(regexProblem('^(ax|axial)[ _-]?t1')).toBeUndefined();
    expect(regexProblem('(t1|t2)+')).toBeUndefined();
  });

  it('when a list holds a bad regex, then the problem names its JSON path', () => {
    expect(stringConditionProblems(['T1', { regex: '(' }], '/select/series/SeriesDescription')).toEqual([
      expect.stringMatching(/^\/select\/series\/SeriesDescription\/1\/regex not a valid regular expression/),
    ]);
  });
});
