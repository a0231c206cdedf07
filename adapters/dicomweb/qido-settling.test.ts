import { addDays, emptyState, markEmitted, nextSince, observe, parseState, prune } from './qido-settling';

const SETTLE = 60_000;

describe('QIDO settling', () => {
  it('when a study is first seen, then it is emitted only after its counts stayed the same for the settle time', () => {
    const state = emptyState();
    expect(observe(state, 'a', { n: 3, s: 1, d: '20261123' }, 0, SETTLE)).toBe('new');
    expect(observe(state, 'a', { n: 3, s: 1, d: '20261123' }, SETTLE - 1, SETTLE)).toBe('settling');
    expect(observe(state, 'a', { n: 3, s: 1, d: '20261123' }, SETTLE, SETTLE)).toBe('due');
  });

  it('when the instance or series count changes, then the settle time starts again', () => {
    const state = emptyState();
    observe(state, 'a', { n: 3, s: 1, d: '' }, 0, SETTLE);
    expect(observe(state, 'a', { n: 6, s: 1, d: '' }, 50_000, SETTLE)).toBe('changed');
    expect(observe(state, 'a', { n: 6, s: 1, d: '' }, 100_000, SETTLE)).toBe('settling');
    expect(observe(state, 'a', { n: 6, s: 2, d: '' }, 110_000, SETTLE)).toBe('changed');
    expect(observe(state, 'a', { n: 6, s: 2, d: '' }, 170_000, SETTLE)).toBe('due');
  });

  it('when a study was emitted, then the same counts are not due again, but changed counts are after settling', () => {
    const state = emptyState();
    observe(state, 'a', { n: 3, s: 1, d: '' }, 0, SETTLE);
    expect(observe(state, 'a', { n: 3, s: 1, d: '' }, SETTLE, SETTLE)).toBe('due');
    markEmitted(state, 'a');
    expect(observe(state, 'a', { n: 3, s: 1, d: '' }, 10 * SETTLE, SETTLE)).toBe('emitted');
    expect(observe(state, 'a', { n: 4, s: 1, d: '' }, 11 * SETTLE, SETTLE)).toBe('changed');
    expect(observe(state, 'a', { n: 4, s: 1, d: '' }, 12 * SETTLE, SETTLE)).toBe('due');
  });

  it('when the state goes through JSON, then it behaves the same (a restart loses nothing)', () => {
    const state = emptyState();
    observe(state, 'a', { n: 3, s: 1, d: '20261120' }, 0, SETTLE);
    observe(state, 'b', { n: 2, s: 1, d: '20261122' }, 0, SETTLE);
    observe(state, 'b', { n: 2, s: 1, d: '20261122' }, SETTLE, SETTLE);
    markEmitted(state, 'b');
    state.since = '20261120';
    const back = parseState(JSON.stringify(state));
    expect(back).toEqual(state);
    expect(observe(back, 'a', { n: 3, s: 1, d: '20261120' }, SETTLE, SETTLE)).toBe('due');
    expect(observe(back, 'b', { n: 2, s: 1, d: '20261122' }, 2 * SETTLE, SETTLE)).toBe('emitted');
  });

  it('when the stored state is unreadable, then polling starts from an empty state', () => {
    expect(parseState('{not json')).toEqual(emptyState());
    expect(parseState(JSON.stringify({ v: 2, studies: {} }))).toEqual(emptyState());
    expect(parseState(undefined)).toEqual(emptyState());
  });

  it('when studies leave the window or exceed the cap, then they are pruned, emitted and oldest first', () => {
    const state = emptyState();
    for (const [key, at] of [['old-emitted', 1], ['new-emitted', 5], ['old-open', 2], ['gone', 3]] as const) {
      observe(state, key, { n: 1, s: 1, d: '' }, at, SETTLE);
      if (key.endsWith('emitted')) markEmitted(state, key);
    }
    expect(prune(state, new Set(['old-emitted', 'new-emitted', 'old-open']), 2)).toBe(2);
    expect(Object.keys(state.studies).sort()).toEqual(['new-emitted', 'old-open']);
  });

  it('when a study still owes an emission, then the watermark stays at its StudyDate; otherwise it moves to today', () => {
    const state = emptyState();
    observe(state, 'owed', { n: 1, s: 1, d: '20261118' }, 0, SETTLE);
    observe(state, 'done', { n: 1, s: 1, d: '20261110' }, 0, SETTLE);
    markEmitted(state, 'done');
    expect(nextSince(state, '20261123')).toBe('20261118');
    markEmitted(state, 'owed');
    expect(nextSince(state, '20261123')).toBe('20261123');
  });

  it('when days are subtracted across a month or year end, then the date is right', () => {
    expect(addDays('20260301', -1)).toBe('20260228');
    expect(addDays('20270101', -2)).toBe('20261230');
  });
});
