/**
 * Runs a pass over the event log when woken, the way every event reader here works (webhook
 * delivery, the Redis sink): new events wake it through the engine's event hub, a wake during a
 * pass asks for exactly one more pass afterwards, and when idle it polls as a backstop (a missed
 * notification, a retry that came due, Redis coming back).
 */
import type { Engine } from '../engine/index.ts';

export interface PassRunnerOptions {
  /** One pass; it handles its own errors, a rejection only ends the pass. */
  pass: () => Promise<void>;
  /** Idle poll interval. */
  intervalMs: number;
  /** Wake on every new event this process hears of. */
  engine?: Engine | undefined;
}

export class PassRunner {
  readonly #options: PassRunnerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #unobserve: (() => void) | undefined;

  constructor(options: PassRunnerOptions) {
    this.#options = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { engine } = this.#options;
    if (engine) {
      this.#unobserve = engine.events.observe(() => this.wake());
      await engine.events.startObserving();
    }
    this.wake();
  }

  /** Runs a pass soon: now if idle, right after the current one if one is running. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#options.pass().catch(() => {}).finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.wake();
        return;
      }
      this.#timer = setTimeout(() => this.wake(), this.#options.intervalMs);
    });
  }

  /** Stops waking and polling; resolves when the pass in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unobserve?.();
    this.#unobserve = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
