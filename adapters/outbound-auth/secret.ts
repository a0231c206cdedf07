import { readFileSync } from 'node:fs';
import { AppError } from '../../src/domain/errors';

/**
 * A secret from the environment (a fixed value) or a file mounted from a Kubernetes Secret. A file is read again on
 * `reload`, so a rotated Secret is picked up without a restart (the token client reloads before every token
 * request; static credentials reload after a 401).
 */
export class Secret {
  private current: string;

  private constructor(
    private readonly source: { value: string } | { file: string; key: string },
  ) {
    this.current = 'value' in source ? source.value : Secret.read(source.file, source.key);
  }

  /** `value` (from the environment) wins; otherwise `file`; undefined when neither is set. */
  static from(options: { value?: string; file?: string; key: string; fileKey: string }): Secret | undefined {
    if (options.value) return new Secret({ value: options.value });
    if (options.file) return new Secret({ file: options.file, key: options.fileKey });
    return undefined;
  }

  static fixed(value: string): Secret {
    return new Secret({ value });
  }

  value(): string {
    return this.current;
  }

  /** Reads the file again; true when the value changed. A file that became unreadable keeps the last value. */
  reload(): boolean {
    if ('value' in this.source) return false;
    let next: string;
    try {
      next = Secret.read(this.source.file, this.source.key);
    } catch {
      return false;
    }
    const changed = next !== this.current;
    this.current = next;
    return changed;
  }

  private static read(file: string, key: string): string {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `${key}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const value = text.trim();
    if (!value) throw new AppError('CONFIG_INVALID', `${key}: the file is empty`);
    return value;
  }
}
