/**
 * In-process keyed mutex: tasks with the same key run one after another, different keys run in parallel.
 * Conditional create (ifNoneExist) is a search followed by a create, which two concurrent requests can both pass;
 * serialising per key closes that window within one process.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    // The tail never rejects, so one failure does not poison the queue behind it.
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a task queued or running (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
