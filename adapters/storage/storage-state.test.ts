import { nextStorageState, watermarkProblem, type PathReading } from './storage-state';

const MIB = 1024 * 1024;
const marks = { minFreeBytes: 100 * MIB, resumeFreeBytes: 200 * MIB };
const at = (...free: (number | undefined)[]): PathReading[] =>
  free.map((f, i) => ({ kind: i === 0 ? 'data dir' : 'received dir', path: `/p${i}`, ...(f === undefined ? { error: 'EACCES' } : { freeBytes: f }) }));

describe('nextStorageState (watermarks with hysteresis)', () => {
  it.each<[string, 'ok' | 'pressure', PathReading[], 'ok' | 'pressure']>([
    ['ok and every path above min', 'ok', at(500 * MIB, 150 * MIB), 'ok'],
    ['ok and one path exactly at min', 'ok', at(500 * MIB, 100 * MIB), 'ok'],
    ['ok and one path one byte below min', 'ok', at(500 * MIB, 100 * MIB - 1), 'pressure'],
    ['pressure and the low path back above min but below resume', 'pressure', at(500 * MIB, 150 * MIB), 'pressure'],
    ['pressure and one path exactly at resume, the other above', 'pressure', at(500 * MIB, 200 * MIB), 'ok'],
    ['pressure and one path at resume, the other below it', 'pressure', at(199 * MIB, 200 * MIB), 'pressure'],
    ['ok and no path could be read', 'ok', at(undefined, undefined), 'ok'],
    ['pressure and no path could be read', 'pressure', at(undefined, undefined), 'pressure'],
    ['pressure, one path unreadable and the other at resume', 'pressure', at(undefined, 300 * MIB), 'ok'],
  ])('when %s, then %s', (_what, previous, readings, expected) => {
    expect(nextStorageState(previous, readings, marks)).toBe(expected);
  });

  it('when a write was refused for lack of space, then pressure even with plenty free', () => {
    expect(nextStorageState('ok', at(900 * MIB, 900 * MIB), marks, true)).toBe('pressure');
  });

  it('when the refusal was the last decision and now there is room above resume, then ok again', () => {
    expect(nextStorageState('pressure', at(900 * MIB, 900 * MIB), marks, false)).toBe('ok');
  });

  it('when the one path of a disk full hovers between min and resume, then the state does not flap', () => {
    let state = nextStorageState('ok', at(99 * MIB), marks);
    const seen = [state];
    for (const free of [101, 150, 99, 199, 120]) seen.push((state = nextStorageState(state, at(free * MIB), marks)));
    expect(seen).toEqual(['pressure', 'pressure', 'pressure', 'pressure', 'pressure', 'pressure']);
    expect(nextStorageState(state, at(200 * MIB), marks)).toBe('ok');
  });
});

describe('watermarkProblem', () => {
  it('when resume is below min, then a config error naming both keys', () => {
    expect(watermarkProblem({ minFreeBytes: 2, resumeFreeBytes: 1 })).toMatch(/storage\.resumeFreeBytes \(1\) must be at least storage\.minFreeBytes \(2\)/);
  });
  it('when resume equals min, then no problem (no hysteresis, but valid)', () => {
    expect(watermarkProblem({ minFreeBytes: 2, resumeFreeBytes: 2 })).toBeUndefined();
  });
});
