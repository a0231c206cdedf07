import { AppError } from '../../src/domain/errors';
import { PeriodicTask } from './periodic-task';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('PeriodicTask', () => {
  it('when started with runAtStart, then it runs at once, then on the schedule, never two runs at a time', async () => {
    let running = 0;
    let maxRunning = 0;
    const startedAt: number[] = [];
    const t0 = Date.now();
    const task = new PeriodicTask({ name: 'test', schedule: '* * * * * *', runAtStart: true }, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      startedAt.push(Date.now() - t0);
      await sleep(1300);
      running--;
    });
    task.start();
    await sleep(3200);
    await task.stop();
    // Well before the first whole-second tick could have fired it.
    expect(startedAt[0]).toBeLessThan(500);
    expect(startedAt.length).toBeGreaterThanOrEqual(2);
    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
  });

  it('when a run throws, then the task keeps its schedule and runs again', async () => {
    let runs = 0;
    const task = new PeriodicTask({ name: 'test', schedule: '* * * * * *', runAtStart: true }, async () => {
      runs++;
      throw new Error('PACS down');
    });
    task.start();
    await sleep(1500);
    await task.stop();
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  it('when stopped during a run, then the run is told (aborted signal) and stop waits for it to end', async () => {
    let finished = false;
    let abortedBeforeEnd = false;
    const task = new PeriodicTask({ name: 'test', schedule: '0 0 1 1 *', runAtStart: true }, async (signal) => {
      await sleep(300);
      abortedBeforeEnd = signal.aborted;
      finished = true;
    });
    task.start();
    await sleep(20);
    await task.stop();
    expect(finished).toBe(true);
    expect(abortedBeforeEnd).toBe(true);
  });

  it('when the expression is not cron, then construction fails with CONFIG_INVALID naming it', () => {
    let error: unknown;
    try {
      new PeriodicTask({ name: 'dicomweb.pollSchedule', schedule: 'every minute' }, async () => undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CONFIG_INVALID');
    expect((error as AppError).message).toMatch(/dicomweb\.pollSchedule: "every minute"/);
  });
});
