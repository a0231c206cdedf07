import { loadConfig } from '../config';

describe('config key routes', () => {
  it('when nothing is configured, then there are no route rules', () => {
    expect(loadConfig({ env: {} }).routes).toEqual([]);
  });

  it('when CLINICAL_AI_ROUTES holds a JSON array, then its rules are loaded', () => {
    const rules = [{ name: 'off at night station', models: ['brain-mask-2d'], when: { StationName: ['NIGHT1'] }, enabled: false }];
    expect(loadConfig({ env: { CLINICAL_AI_ROUTES: JSON.stringify(rules) } }).routes).toEqual(rules);
  });

  it('when CLINICAL_AI_ROUTES is not JSON, then the error says so', () => {
    expect(() => loadConfig({ env: { CLINICAL_AI_ROUTES: '[{name: x}' } })).toThrow(/CLINICAL_AI_ROUTES: expected a JSON array/);
  });

  it('when several rules are wrong, then one error lists each with its path', () => {
    let message = '';
    try {
      loadConfig({ env: {}, overrides: { routes: [{ name: 'a', when: { NumberOfSeries: '>> 2' } }, { name: 'b', select: { prefer: 'newest' } }] } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('routes/0/when/NumberOfSeries must match pattern');
    expect(message).toContain('routes/1/select/prefer must be one of "most-slices", "thinnest-slices"');
  });
});
