/**
 * Gates for tasks that must run until a test lets them go: a handler waits on its gate by name,
 * the test waits until the gate is reached (the handler has started) and opens it.
 */
import { eventually } from './engine.ts';

export class Gates {
  readonly #waiting = new Map<string, () => void>();

  /**
   * For a handler: resolves when the test opens gate `name`. With `signal`, rejects with its
   * reason when it aborts first (a cancel, a shutdown), and the gate is no longer reached.
   */
  wait(name: string, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(name, resolve);
      signal?.addEventListener('abort', () => {
        this.#waiting.delete(name);
        reject(signal.reason as Error);
      }, { once: true });
    });
  }

  /** Whether a handler waits at gate `name` now. */
  isReached(name: string): boolean {
    return this.#waiting.has(name);
  }

  /** Waits until a handler waits at gate `name`, and hands back its opener (the gate is then taken). */
  async reached(name: string): Promise<() => void> {
    const open = await eventually(async () => this.#waiting.get(name));
    this.#waiting.delete(name);
    return open;
  }

  /** Waits until a handler waits at gate `name`, and opens it. */
  async open(name: string): Promise<void> {
    (await this.reached(name))();
  }
}
