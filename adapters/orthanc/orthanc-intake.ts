import type { StudyEvent } from '../../src/domain/study';
import { silentLogger, type Logger } from '../../src/logging';
import type { StudyEventSource } from '../../src/ports/study-events';
import { assertCronExpression, PeriodicTask } from '../intake/periodic-task';
import type { OrthancChangeFeed } from './change-feed';
import type { OrthancReconciliation } from './reconciliation';

export interface OrthancIntakeOptions {
  feed: OrthancChangeFeed;
  reconciliation: OrthancReconciliation;
  /** node-cron expression for the sweep; it also runs once at start. */
  reconcileSchedule: string;
  logger?: Logger;
}

/**
 * Orthanc intake: the change feed delivers StableStudy changes as they come; the reconciliation sweep runs at start
 * and on a schedule and delivers what the feed missed. Both call the same onEvent; a study delivered by both becomes
 * jobs once (idempotency keys), so neither needs to know about the other.
 */
export class OrthancIntake implements StudyEventSource {
  readonly name: string;
  private sweepTask: PeriodicTask | undefined;

  constructor(private readonly options: OrthancIntakeOptions) {
    this.name = options.feed.name;
    assertCronExpression(options.reconcileSchedule, 'orthanc.reconcileSchedule');
  }

  async start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void> {
    await this.options.feed.start(onEvent);
    this.sweepTask = new PeriodicTask(
      { name: 'orthanc-reconciliation', schedule: this.options.reconcileSchedule, runAtStart: true, logger: this.options.logger ?? silentLogger },
      async (signal) => void (await this.options.reconciliation.sweep(onEvent, signal)),
    );
    this.sweepTask.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.options.feed.stop(), this.sweepTask?.stop()]);
    this.sweepTask = undefined;
  }
}
