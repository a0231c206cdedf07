import type { NumberCondition } from '../domain/manifest';
import { compileNumberCondition, numberConditionProblems } from './match-number';

describe('number conditions', () => {
  it.each<[string, NumberCondition, number[], boolean]>([
    ['a number equals', 3, [3], true],
    ['a number differs', 3, [3.5], false],
    ['decimal noise is equal', 0.3, [0.1 + 0.2], true],
    ['>= at the bound', '>= 3', [3], true],
    ['>= below', '>= 3', [2.99], false],
    ['> at the bound', '> 3', [3], false],
    ['< below', '< 5.5', [5.4], true],
    ['< at the bound', '< 5.5', [5.5], false],
    ['<= at the bound', '<=1.5', [1.5], true],
    ['= with spaces', ' = 2 ', [2], true],
    ['== as =', '== 2', [2], true],
    ['!= excludes a value', '!= 2', [2], false],
    ['!= accepts another', '!= 2', [3], true],
    ['negative and exponent numbers', '> -1e-3', [0], true],
    ['a range includes its minimum', [1, 3], [1], true],
    ['a range includes its maximum', [1, 3], [3], true],
    ['a range excludes above', [1, 3], [3.01], false],
    ['multi-valued: every value in range', [0.5, 1], [0.8, 0.9], true],
    ['multi-valued: one value out of range', [0.5, 1], [0.8, 1.2], false],
    ['absent attribute', '>= 0', [], false],
  ])('when %s, then the verdict follows', (_name, condition, values, passes) => {
    const reason = compileNumberCondition(condition).check('SliceThickness', values);
    if (passes) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/^SliceThickness .* is not /);
  });

  it('when a value fails, then the reason shows the value and the condition', () => {
    expect(compileNumberCondition('<= 1.5').check('SliceThickness', [5])).toBe('SliceThickness 5 is not <= 1.5');
    expect(compileNumberCondition([10, 20]).check('NumberOfSlices', [])).toBe('NumberOfSlices (none) is not in [10, 20]');
  });

  it('when a range is inverted, then the problem names its path', () => {
    expect(numberConditionProblems([5, 1], '/select/series/Rows')).toEqual(['/select/series/Rows range needs min <= max (has 5 and 1)']);
    expect(numberConditionProblems([1, 5], '/x')).toEqual([]);
  });

  it('when a comparison string is malformed, then compiling refuses it', () => {
    expect(() => compileNumberCondition('about 3')).toThrow(/not a comparison/);
  });
});
