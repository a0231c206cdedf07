/** Where an intake keeps its position; JobStore implements it, tests use MemoryCursorStore. */
export interface CursorStore {
  getCursor(name: string): Promise<string | undefined>;
  setCursor(name: string, value: string): Promise<void>;
}

/** In-memory CursorStore (tests, demos): forgets everything on restart. */
export class MemoryCursorStore implements CursorStore {
  readonly values = new Map<string, string>();
  /** Every setCursor call in order, so tests can check when the cursor moved. */
  readonly writes: { name: string; value: string }[] = [];

  async getCursor(name: string): Promise<string | undefined> {
    return this.values.get(name);
  }

  async setCursor(name: string, value: string): Promise<void> {
    this.values.set(name, value);
    this.writes.push({ name, value });
  }
}
