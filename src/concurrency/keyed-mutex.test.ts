import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedMutex', () => {
  it('when tasks share a key, then they run in call order without overlap, even after a failure', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string, fail = false) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([mutex.run('k', task('a')), mutex.run('k', task('b', true)), mutex.run('k', task('c'))]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(mutex.size).toBe(0);
  });

  it('when tasks have different keys, then they overlap', async () => {
    const mutex = new KeyedMutex();
    let running = 0;
    let most = 0;
    const task = async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    };
    await Promise.all([mutex.run('a', task), mutex.run('b', task)]);
    expect(most).toBe(2);
  });
});
