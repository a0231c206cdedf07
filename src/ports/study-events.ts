import type { StudyEvent } from '../domain/study';

/** An intake path (Orthanc change feed, folder watch, …) that reports studies ready for processing. */
export interface StudyEventSource {
  readonly name: string;
  /**
   * Starts delivering events. The source advances its durable cursor only after onEvent resolved for the events
   * before it, so a crash never loses an event (it may repeat one; jobs are idempotent).
   */
  start(onEvent: (event: StudyEvent) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}
