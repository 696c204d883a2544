/**
 * The worker loop: claim ready tasks into free slots, run them, record how they ended.
 *
 * Every free slot is filled as soon as it frees: a finished task wakes the loop, which claims
 * as many tasks as there are free slots, highest-priority queue first, in one statement per queue
 * (ready-queue.ts). Batches of N held while they run one after another would let one slow task
 * delay N-1 others another worker could run (decision 0002). Only for a queue whose tasks have
 * lately taken a few milliseconds does the worker claim ahead, up to one more task per slot: the
 * next claim then runs while the slots are busy and every commit carries twice the tasks, and a
 * task claimed ahead waits at most a few milliseconds for its slot (decision 0008). For a queue
 * whose tasks end within a claim's round trip, claims are pipelined: up to two are in flight
 * while the slots work through what earlier ones brought (decision 0011).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { withTransaction, type Pool } from '../db/pool.ts';
import { HardTimeoutError, serializeError, UnknownTaskTypeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { abortReason, TaskAbortedError } from './abort.ts';
import type { EventHub } from './event-hub.ts';
import { holdUntilResolved } from './wait-hold.ts';
import { cancelPendingWaitpoints, resolveChildWaits, sweepWaitpoints, type WaitpointRecord } from './waitpoints.ts';
import { cancelChannel } from './cancel.ts';
import { DeliveryConnections } from './delivery-connections.ts';
import { extendLeases, queuesWithDueTasks, readyChannel, recoverLostLeases, releaseLeases, renewClaimedLeases, type ClaimedTask as Claim } from './ready-queue.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import { FailureHandlers } from './failure-handlers.ts';
import type { NotificationListener } from './listener.ts';
import { queueNames, queuePolicy, queuesByPriority, type QueueName } from './queues.ts';
import { taskRetryDelayMs } from './retry-policy.ts';
import { attemptEnding, needsDatabaseProbe } from './attempt-ending.ts';
import { Settler, type CarriedFinishes, type Outcome, type Settlement } from './settle.ts';
import { heartbeatWindowSeconds, registerWorker, touchWorker, unregisterWorker, type WorkerRegistration } from './worker-registry.ts';
import { validateInput, type EagerSlot, type SubmitRequest, type SubmitResult } from './submit.ts';
import { createTaskContext, loadCompletedSteps, type AttemptContext } from './task-context.ts';
import type { TaskRegistry } from './task-registry.ts';
import { taskColumns, type TaskRecord } from './task-store.ts';

export interface WorkerOptions {
  /** Queues to work. @default every queue */
  queues?: readonly QueueName[];
  /** Tasks run at once. @default 8 */
  concurrency?: number;
  /** @default `${hostname}:${pid}:${random}` */
  workerId?: string;
  /** Idle polling backstop; NOTIFY wakes the worker at once. @default 2000 */
  pollIntervalMs?: number;
  /** Heartbeat period: the worker refreshes its row at half of it; its leases lapse 1.5 periods after its last beat. @default 10 */
  heartbeatSeconds?: number;
  /** On stop, how long running tasks get after their signal aborts. @default 10000 */
  shutdownGraceMs?: number;
  /**
   * How long an attempt waiting for its child tasks may hold the wait before it parks, while the
   * worker has a slot to spare and fewer than half its slots hold waits (wait-hold.ts). 0 parks
   * at once. @default 0
   */
  childWaitHoldMs?: number;
}

export interface WorkerDependencies {
  /**
   * The engine's pool. The worker holds up to three of its connections for claims and settles
   * while it runs (delivery-connections.ts), and hands them back when it stops.
   */
  pool: Pool;
  registry: TaskRegistry;
  listener: NotificationListener;
  /** Where an attempt holding a children wait hears it resolve. */
  events: EventHub;
  logger: Logger;
  submit: (request: SubmitRequest) => Promise<SubmitResult>;
  /** Called after outcomes are recorded (metrics). Must not throw. */
  onSettled?: (settlements: Settlement[]) => void;
  onStarted?: (tasks: TaskRecord[]) => void;
  /** Called once `stop` has finished: the worker holds no task and no connection any more. */
  onStopped?: () => void;
  /** Called with each task whose type's `onFailure` ran and committed (failure-handlers.ts). Must not throw. */
  onFailureHandled?: (task: TaskRecord) => void;
}

/**
 * A queue's tasks count as short, and are claimed ahead of free slots, while their handlers'
 * moving average stays under this: a task claimed ahead then waits for a slot about as long as a
 * claim takes, while for seconds-long tasks (model calls) claiming ahead would only keep work
 * from another worker with free slots.
 */
const shortTaskMs = 20;

/** How long a task whose type this worker does not know waits before a worker claims it again. */
const unknownTypeRetryMs = 30_000;
/** Past this age a task whose type no worker knows fails instead (a rolling deploy is long over). */
const unknownTypeGiveUpMs = 3_600_000;

/** How long a worker waits for the database's answer before it takes the database for away. */
const databaseProbeTimeoutMs = 3_000;
/**
 * How long a cancel heard for a task this worker does not hold is kept, should the task's claim
 * be placed after it: longer than any claim's round trips, short enough that the cancels every
 * worker hears for others' tasks stay few.
 */
const heardCancelMs = 60_000;

/**
 * A queue whose handlers average under this is pipelined: its tasks end sooner than a claim's
 * round trip and commit take, so with one claim at a time the slots would sit empty while it is
 * in flight, and the database idle while the slots run (a drain of no-op tasks kept the two cores
 * 55 % busy). The worker then keeps up to `pipelinedClaims` claims in flight, each for at least a
 * round of its slots and at most two thirds of the rounds it may hold claimed ahead. Each
 * statement has a fixed cost, so the bigger the claims the fewer per task: claims of up to eight
 * rounds and twelve held ahead drained 12-14 % faster than two and three (eighteen alternating
 * drains of 5,000; decision 0011).
 *
 * How many rounds it may hold ahead is set by time, not by count: as many as fill
 * `pipelinedAheadMs` at the queue's average, between `pipelinedAheadRounds.least` and `.most`.
 * That bounds how long another worker with free slots, or a task of higher priority submitted
 * meanwhile, can wait behind work this worker holds: twelve rounds of 2 ms tasks, or forty-eight
 * of tasks that take half a millisecond or less. Drains of 10,000 no-op tasks after one of 5,000
 * (a warm process), ten alternating pairs each, against eight and twelve: sixteen and twenty-four
 * +8 % (faster in nine), thirty-two and forty-eight +19 % and +28 % (ten of ten, twice), with
 * PostgreSQL's CPU per task 11-16 % lower; sixty-four and ninety-six +26 %, for statements twice
 * as long again, which hold the event-order lock for their events' inserts (docs/benchmarks.md,
 * sixteenth session).
 *
 * A claim asks for at least one round while fewer than `pipelinedBufferRounds` are held ahead
 * (the slots would soon wait), and for at least `pipelinedLargeClaimRounds` once that many are:
 * the slots then have work while the bigger claim is in flight, and the statements are fewer.
 * Drains of 20,000, six alternating pairs: 7,614 -> 7,937 tasks/s (six of six), CPU per task
 * 198 -> 188 us. Six rounds once three are held ahead measured the same as this.
 */
const pipelinedTaskMs = 2;
const pipelinedClaims = 2;
const pipelinedAheadMs = 24;
const pipelinedAheadRounds = { least: 12, most: 48 };
const pipelinedBufferRounds = 2;
const pipelinedLargeClaimRounds = 4;

/** Rounds of a pipelined queue's tasks, averaging `handlerMs`, that fill `pipelinedAheadMs` per slot, within bounds. */
export function pipelinedRoundsAhead(handlerMs: number): number {
  const rounds = Math.floor(pipelinedAheadMs / Math.max(handlerMs, Number.EPSILON));
  return Math.min(pipelinedAheadRounds.most, Math.max(pipelinedAheadRounds.least, rounds));
}

/** Weight of the newest handler duration in a queue's moving average. */
const durationWeight = 0.2;

interface Running extends Claim {
  controller: AbortController;
  done: Promise<void>;
  /** Set when shutdown handed the task back without waiting for its handler. */
  released: boolean;
  /**
   * A cancel arrived after the signal had aborted for another reason (its soft timeout): the
   * attempt still ends cancelled, whatever it returns.
   */
  cancelRequested?: boolean;
}

export class Worker {
  readonly id: string;
  readonly #dependencies: WorkerDependencies;
  readonly #queues: QueueName[];
  readonly #concurrency: number;
  readonly #pollIntervalMs: number;
  readonly #heartbeatSeconds: number;
  readonly #shutdownGraceMs: number;
  readonly #childWaitHoldMs: number;
  /** Attempts holding a children wait now (at most half the slots). */
  #holdingWaits = 0;
  readonly #settler: Settler;
  readonly #active = new Map<string, Running>();
  /** Claimed ahead of a free slot (short queues only), in claim order: leased, not yet started. */
  #claimedAhead: Claim[] = [];
  /**
   * Cancels heard for tasks this worker did not hold, by when: a claim commits before its answer
   * is placed (a slow claim's lease renewal, the leftovers' discard, an eager submit's checks are
   * round trips in between), and a cancel that committed meanwhile notifies only once. A task
   * placed within `heardCancelMs` of its cancel's NOTIFY is stopped as if it had come after.
   * Every worker hears every cancel, so entries for others' tasks lapse.
   */
  readonly #cancelsHeard = new Map<string, number>();
  /** Moving average of handler milliseconds per queue: what decides claiming ahead. */
  readonly #handlerMs = new Map<string, number>();
  /** Claims in flight: the loop's own, or up to `pipelinedClaims` sent without waiting. */
  #claimsInFlight = 0;
  /** The tasks those claims asked for, counted as taken until they answer. */
  #requestedInFlight = 0;
  /** Settles when each claim in flight has answered and its tasks are placed; shutdown waits for them. */
  readonly #claimsAnswered = new Set<Promise<void>>();
  readonly #logger: Logger;
  #stopping = false;
  #wakePending = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #unlisten: Array<() => void> = [];
  /**
   * Queues whose last claim came back short, so they are skipped until a NOTIFY says work became
   * ready on them or the polling backstop finds a due task in them. Without this every free slot
   * would cost one claim transaction per queue served, most of them on empty queues.
   */
  readonly #drained = new Set<QueueName>();
  /**
   * Per queue, bumped by each ready announcement and each claim sent: a claim's short answer
   * drains the queue only if nothing was announced there, and no later claim sent, meanwhile.
   */
  readonly #queueTurns = new Map<string, number>();
  /** Queues whose last claim came back full: more is waiting there, worth a second claim in flight. */
  readonly #backlogged = new Set<string>();
  #lastPoll = 0;
  #sweeping: Promise<void> | undefined;
  /** The polling backstop's question in flight: which queues found empty hold due work. */
  #pollingDrained: Promise<void> | undefined;
  /** Where claims and settles go, borrowed from the pool (delivery-connections.ts). */
  readonly #delivery: DeliveryConnections;
  /** Current wait between failed claims (0: the last claim worked). */
  #claimBackoffMs = 0;
  /** No claim before this time (`Date.now()`): the last one failed. */
  #claimRetryAt = 0;
  /** Outcomes being recorded; shutdown waits for them. */
  readonly #settling = new Set<Promise<void>>();
  /** Slots held for submits in flight in this process (eager start); shutdown waits for them. */
  #heldForSubmits = 0;
  #noneHeld: Array<() => void> = [];
  /** Set once shutdown's grace period ended: the settler and its connections are going. */
  #settlerClosing = false;
  readonly #failureHandlers: FailureHandlers;
  /** The failure handlers' pass in flight, and whether another was asked for meanwhile. */
  #handlingFailures: Promise<void> | undefined;
  #failuresAgain = false;

  constructor(dependencies: WorkerDependencies, options: WorkerOptions = {}) {
    this.#dependencies = dependencies;
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#queues = queuesByPriority(options.queues ?? [...new Set([...queueNames(), ...dependencies.registry.list().map((definition) => definition.queue)])]);
    this.#concurrency = options.concurrency ?? 8;
    this.#pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.#heartbeatSeconds = options.heartbeatSeconds ?? 10;
    this.#shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.#childWaitHoldMs = options.childWaitHoldMs ?? 0;
    this.#logger = dependencies.logger.child({ workerId: this.id });
    this.#failureHandlers = new FailureHandlers({ pool: dependencies.pool, registry: dependencies.registry, logger: this.#logger, onHandled: (task) => dependencies.onFailureHandled?.(task) });
    this.#delivery = new DeliveryConnections(dependencies.pool);
    this.#settler = new Settler({ pool: dependencies.pool, delivery: this.#delivery }, this.#logger, (settlements) => {
      dependencies.onSettled?.(settlements);
      // A failure handler runs as soon as its task's ending committed, not at the next poll.
      if (settlements.some(({ task, outcome }) => (outcome.kind === 'failed' || outcome.kind === 'cancelled') && this.#failureHandlers.handles(task.task_type))) this.#handleFailures();
    });
  }

  #registration(): WorkerRegistration {
    return { id: this.id, queues: this.#queues, concurrency: this.#concurrency, heartbeatSeconds: this.#heartbeatSeconds };
  }

  get activeCount(): number {
    return this.#active.size;
  }

  get queueNames(): readonly QueueName[] {
    return this.#queues;
  }

  async start(): Promise<void> {
    const { listener, pool } = this.#dependencies;
    this.#unlisten.push(listener.on(readyChannel, (queue) => {
      if (!(this.#queues as string[]).includes(queue)) return;
      this.#reopen([queue as QueueName]);
    }));
    this.#unlisten.push(listener.on(cancelChannel, (taskId) => this.#abort(taskId, 'cancelled')));
    this.#unlisten.push(listener.onReconnect(() => {
      this.#drained.clear();
      this.#wakeUp();
    }));
    await Promise.all([registerWorker(pool, this.#registration()), this.#failureHandlers.register()]);
    this.#heartbeat = setInterval(() => void this.#beat(), (this.#heartbeatSeconds * 1000) / 2);
    this.#heartbeat.unref();
    this.#loop = this.#run();
    this.#logger.info({ queues: this.#queues, concurrency: this.#concurrency }, 'worker started');
  }

  /**
   * Stops claiming, aborts running tasks with reason `shutdown`, waits up to the grace period,
   * then hands back whatever still runs so another worker resumes it without spending an attempt.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeUp();
    await this.#loop;
    // A pipelined claim answering now leaves its tasks claimed ahead (no slot starts them any
    // more), and they are handed back with the others below.
    await Promise.all([...this.#claimsAnswered]);
    // Outcomes the loop left for a next claim are written now: there is none.
    this.#settler.flushNow();
    await this.#sweeping;
    await this.#pollingDrained;
    for (const unlisten of this.#unlisten) unlisten();
    for (const running of this.#active.values()) running.controller.abort(new TaskAbortedError('shutdown'));
    // Claimed ahead and never started: handed back at once, like a task that stops at shutdown.
    const notStarted = this.#claimedAhead;
    this.#claimedAhead = [];
    for (const claim of notStarted) this.#record(claim.task, { kind: 'released' }, 0);
    const graceMs = options.graceMs ?? this.#shutdownGraceMs;
    // A submit holding a slot here hands its task back when its statement returns (eager start);
    // one still blocked after the grace period hands it back through the main pool.
    const submitsDone = this.#heldForSubmits === 0 ? undefined : new Promise<void>((resolve) => this.#noneHeld.push(resolve));
    const allDone = Promise.all([...[...this.#active.values()].map((running) => running.done), submitsDone]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allDone, new Promise((resolve) => { timer = setTimeout(resolve, graceMs); })]);
    clearTimeout(timer);
    this.#settlerClosing = true;
    const stragglers = [...this.#active.values()];
    for (const running of stragglers) running.released = true;
    await Promise.all(stragglers.map((running) =>
      this.#settler.settle({ task: running.task, outcome: { kind: 'released' }, durationMs: 0 }).catch((error: unknown) => {
        this.#logger.error({ err: error, taskId: running.task.id }, 'handing back a task at shutdown failed; it resumes after its heartbeat lapses');
      })));
    clearInterval(this.#heartbeat);
    await Promise.all([...this.#settling]);
    await this.#settler.idle();
    // Started by the last settles at the latest; none starts after them.
    await this.#handlingFailures;
    await this.#delivery.close();
    await unregisterWorker(this.#dependencies.pool, this.id).catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'could not remove this worker\'s heartbeat row; it ages out');
    });
    this.#dependencies.onStopped?.();
    this.#logger.info({ released: stragglers.length }, 'worker stopped');
  }

  #wakeUp(): void {
    this.#wakePending = true;
    this.#wake?.();
  }

  async #waitForWake(timeoutMs: number): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#wake = undefined;
    this.#wakePending = false;
  }

  async #run(): Promise<void> {
    // The first poll: the sweep in the background, and which queues hold work before any claim.
    this.#lastPoll = Date.now();
    this.#sweep();
    await this.#skipIdleQueues();
    while (!this.#stopping) {
      let claimedAny = false;
      // The backstop: the queues found empty that hold due work again (retries that came due, a
      // missed NOTIFY) are claimed again once `#pollDrained` has found them.
      if (Date.now() - this.#lastPoll >= this.#pollIntervalMs) {
        this.#lastPoll = Date.now();
        this.#pollDrained();
        this.#sweep();
      }
      // Tasks claimed ahead that end at once (a few ms of work) end before the next claim, so
      // their outcomes are recorded by it: one commit per claim's worth of tasks.
      if (this.#startClaimedAhead() > 0) {
        this.#settler.expectClaim();
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const queue of this.#queues) {
        if (this.#stopping || Date.now() < this.#claimRetryAt) break;
        const wanted = this.#freeSlots() + this.claimAheadAllowance(queue) - this.#claimedAhead.length - this.#requestedInFlight;
        if (wanted <= 0 || this.#drained.has(queue)) continue;
        if (this.#isPipelined(queue)) {
          // Not awaited: the slots go on with what earlier claims brought while this one runs,
          // and its answer wakes the loop. A claim for less than a round of slots would cost a
          // commit for little, so it waits until that many are wanted (more while enough are
          // held ahead); a second one goes out only while the queue's last answer was full (a
          // poll of an idle queue costs one).
          const room = this.#claimsInFlight === 0 || (this.#claimsInFlight < pipelinedClaims && this.#backlogged.has(queue));
          const buffered = this.#claimedAhead.length >= pipelinedBufferRounds * this.#concurrency;
          if (room && wanted >= (buffered ? pipelinedLargeClaimRounds : 1) * this.#concurrency) {
            const claimRounds = Math.ceil((this.#pipelinedRoundsAhead(queue) * 2) / 3);
            void this.#claimBatch(queue, Math.min(wanted, claimRounds * this.#concurrency)).then(() => this.#wakeUp());
          }
          continue;
        }
        if (await this.#claimBatch(queue, wanted)) claimedAny = true;
      }
      // Outcomes that end while a claim is in flight ride the next one: its answer wakes the loop,
      // which claims again or, with nothing left in flight, writes them on their own.
      if (this.#claimsInFlight > 0 && !this.#stopping) this.#settler.expectClaim();
      else this.#settler.flushNow();
      if (this.#stopping) break;
      if (!claimedAny || this.#active.size >= this.#concurrency) {
        const untilPoll = this.#pollIntervalMs - (Date.now() - this.#lastPoll);
        const untilRetry = this.#claimRetryAt - Date.now();
        await this.#waitForWake(Math.max(1, untilRetry > 0 ? Math.min(untilPoll, untilRetry) : untilPoll));
      }
    }
  }

  /**
   * Claims up to `limit` tasks of `queue` (one delivery statement, which also records the
   * outcomes waiting for it), starts what fits in the free slots and keeps the rest claimed ahead.
   * Failures are logged once per outage and back off from 0.5 s to 10 s before the next claim.
   * Resolves whether any task was claimed; never rejects.
   */
  async #claimBatch(queue: QueueName, limit: number): Promise<boolean> {
    const turn = this.#nextTurn(queue);
    this.#claimsInFlight += 1;
    this.#requestedInFlight += limit;
    let answered!: () => void;
    const answer = new Promise<void>((resolve) => { answered = resolve; });
    this.#claimsAnswered.add(answer);
    try {
      const claims = await this.#claim(queue, limit);
      if (claims.length < limit && this.#queueTurns.get(queue) === turn) this.#drained.add(queue);
      if (claims.length === limit) this.#backlogged.add(queue);
      else this.#backlogged.delete(queue);
      this.#claimedAhead.push(...claims);
      for (const { task } of claims) if (this.#heardCancelOf(task.id)) this.#abort(task.id, 'cancelled', task.lease);
      this.#startClaimedAhead();
      this.#claimBackoffMs = 0;
      return claims.length > 0;
    } catch (error) {
      // During an outage: one warning, then quiet retries.
      if (this.#claimBackoffMs === 0) this.#logger.warn({ err: error, queue }, 'claiming tasks failed; retrying with backoff until the database answers');
      this.#claimBackoffMs = Math.min(10_000, Math.max(500, this.#claimBackoffMs * 2));
      this.#claimRetryAt = Date.now() + this.#claimBackoffMs;
      return false;
    } finally {
      this.#claimsInFlight -= 1;
      this.#requestedInFlight -= limit;
      this.#claimsAnswered.delete(answer);
      answered();
    }
  }

  /**
   * Before the first claims: which of the worker's queues hold due work, in one statement
   * (`queuesWithDueTasks`). The others count as drained, as after a claim that came back short,
   * so the first claims go only where there is work: a worker of the six built-in queues sent a
   * delivery statement to each in turn, the first with a plan to make, before reaching the one
   * holding its backlog. A queue whose NOTIFY is heard meanwhile stays open (its turn moved on),
   * and so does every queue when the lookup fails: they are claimed as before.
   */
  async #skipIdleQueues(): Promise<void> {
    if (this.#queues.length < 2) return;
    const turns = this.#queues.map((queue) => this.#nextTurn(queue));
    const due = new Set(await queuesWithDueTasks(this.#delivery, [...this.#queues]).catch(() => this.#queues));
    this.#queues.forEach((queue, index) => {
      if (!due.has(queue) && this.#queueTurns.get(queue) === turns[index]) this.#drained.add(queue);
    });
  }

  #nextTurn(queue: string): number {
    const turn = (this.#queueTurns.get(queue) ?? 0) + 1;
    this.#queueTurns.set(queue, turn);
    return turn;
  }

  /** Slots neither running a task nor held for a submit in flight. */
  #freeSlots(): number {
    return this.#concurrency - this.#active.size - this.#heldForSubmits;
  }

  /** Starts tasks claimed ahead, oldest first, in the slots that are free; returns how many. */
  #startClaimedAhead(): number {
    const free = Math.max(0, this.#freeSlots());
    if (free === 0 || this.#claimedAhead.length === 0 || this.#stopping) return 0;
    const starting = this.#claimedAhead.slice(0, free);
    this.#claimedAhead = this.#claimedAhead.slice(free);
    for (const claim of starting) this.#start(claim);
    this.#announceStarted(starting.map((claim) => claim.task));
    return starting.length;
  }

  /** The started hook (metrics); a hook that throws is logged, never let into the claim or submit that started the tasks. */
  #announceStarted(tasks: TaskRecord[]): void {
    try {
      this.#dependencies.onStarted?.(tasks);
    } catch (error) {
      this.#logger.warn({ err: error }, 'a started hook threw');
    }
  }

  /** A submit in this process is about to go out: outcomes ending meanwhile wait to ride it. */
  expectSubmit(): void {
    this.#settler.expectCarrier();
  }

  /** The ended attempts waiting to be written, for a submit statement to record (`Settler.carry`). */
  carryFinishes(): CarriedFinishes | undefined {
    return this.#settler.carry();
  }

  /** The submit `expectSubmit` announced carries another worker's finishes. */
  releaseExpectedSubmit(): void {
    this.#settler.releaseCarrier();
  }

  /**
   * Holds a free slot for a task of `queue` being submitted in this process (submit.ts, eager
   * start), or answers undefined. Only while this worker's last claim on the queue came back
   * short and nothing was announced since: a task started eagerly must not pass tasks already
   * waiting there. A keyed task never asks (only a claim orders a key's tasks).
   */
  eagerSlot(queue: string): EagerSlot | undefined {
    if (this.#stopping || this.#claimsInFlight > 0 || !this.#drained.has(queue as QueueName)) return undefined;
    if (this.#active.size + this.#claimedAhead.length + this.#heldForSubmits >= this.#concurrency) return undefined;
    this.#heldForSubmits += 1;
    const heldAt = performance.now();
    let open = true;
    const letGo = (): void => {
      open = false;
      this.#heldForSubmits -= 1;
      if (this.#heldForSubmits === 0) for (const resolve of this.#noneHeld.splice(0)) resolve();
    };
    return {
      workerId: this.id,
      lease: randomUUID(),
      leaseSeconds: heartbeatWindowSeconds(this.#heartbeatSeconds),
      start: (task) => {
        if (!open) return;
        const begin = (): void => {
          letGo();
          // Leased to this worker as it began stopping: handed back like a task claimed ahead,
          // without spending its attempt.
          if (this.#settlerClosing) {
            new Settler({ pool: this.#dependencies.pool, delivery: this.#delivery }, this.#logger, () => {}).settle({ task, outcome: { kind: 'released' }, durationMs: 0 }).catch((error: unknown) => {
              this.#logger.error({ err: error, taskId: task.id }, 'handing back a task submitted during shutdown failed; it resumes after its lease lapses');
            });
            return;
          }
          if (this.#stopping) {
            this.#record(task, { kind: 'released' }, 0);
            return;
          }
          this.#start({ task, firstRun: true });
          this.#announceStarted([task]);
        };
        // A submit that waited long before it committed (see #stillLeased) starts its task only
        // once its lease is known to hold; the slot stays held meanwhile.
        if (!this.#waitedLong(heldAt)) {
          begin();
          return;
        }
        const dropped = (): void => {
          letGo();
          this.#wakeUp();
        };
        this.#stillLeased([{ task }], heldAt).then((kept) => (kept.length > 0 ? begin() : dropped()), (error: unknown) => {
          this.#logger.warn({ err: error, taskId: task.id }, 'renewing the lease of a task submitted after a long wait failed; it is handed back');
          this.#record(task, { kind: 'released' }, 0);
          dropped();
        });
      },
      release: () => {
        if (!open) return;
        letGo();
        this.#wakeUp();
      },
    };
  }

  /**
   * How many tasks of `queue` may wait for a slot here: none when its tasks are long, one per
   * slot when they are short, `#pipelinedRoundsAhead` per slot when they are pipelined. It moves
   * with the queue's measured handler durations, so it differs between a busy machine and an idle one.
   */
  claimAheadAllowance(queue: string): number {
    const handlerMs = this.#handlerMs.get(queue);
    if (handlerMs === undefined || handlerMs >= shortTaskMs) return 0;
    return handlerMs < pipelinedTaskMs ? this.#pipelinedRoundsAhead(queue) * this.#concurrency : this.#concurrency;
  }

  #pipelinedRoundsAhead(queue: string): number {
    return pipelinedRoundsAhead(this.#handlerMs.get(queue) ?? pipelinedTaskMs);
  }

  #isPipelined(queue: string): boolean {
    const handlerMs = this.#handlerMs.get(queue);
    return handlerMs !== undefined && handlerMs < pipelinedTaskMs;
  }

  #noteHandlerDuration(queue: string, milliseconds: number): void {
    const previous = this.#handlerMs.get(queue);
    this.#handlerMs.set(queue, previous === undefined ? milliseconds : previous + durationWeight * (milliseconds - previous));
  }

  /**
   * Work became ready on `queues` (a NOTIFY, or the polling backstop found it due): they are
   * claimed again. A claim in flight that comes back short does not mark them empty again, since
   * its turn has passed.
   */
  #reopen(queues: readonly QueueName[]): void {
    for (const queue of queues) {
      this.#drained.delete(queue);
      this.#nextTurn(queue);
    }
    if (queues.length > 0) this.#wakeUp();
  }

  /**
   * Asks which of the queues found empty hold a due task now, in one statement, and claims those
   * again (ready-queue.ts `queuesWithDueTasks`); the others stay skipped, and eager start stays
   * open on them. A poll that gets no answer claims them all, where a failure backs off and is
   * logged like any claim's.
   */
  #pollDrained(): void {
    const drained = [...this.#drained];
    if (drained.length === 0 || this.#pollingDrained) return;
    this.#pollingDrained = queuesWithDueTasks(this.#delivery, drained)
      .then((due) => due, () => drained)
      .then((due) => this.#reopen(due))
      .finally(() => { this.#pollingDrained = undefined; });
  }

  /**
   * Fires due waitpoint timeouts and timers, at most one sweep at a time per worker, in the
   * background: a wait's timeout therefore fires within one polling interval of its time.
   */
  #sweep(): void {
    if (this.#sweeping) return;
    const { pool } = this.#dependencies;
    this.#sweeping = recoverLostLeases(pool)
      .then((recovered) => { if (recovered > 0) this.#logger.warn({ recovered }, 'tasks of workers that stopped responding were queued again'); })
      .then(() => sweepWaitpoints({ pool }))
      .then((fired) => { if (fired > 0) this.#logger.debug({ fired }, 'waitpoints resolved by the sweep'); })
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'waitpoint sweep failed; it runs again at the next poll'))
      .finally(() => { this.#sweeping = undefined; });
    // Tasks that ended elsewhere (cancelled through the API while they waited, failed by another
    // worker) have their failure handlers run here at the latest.
    this.#handleFailures();
  }

  /** Runs the pending failure handlers, one pass at a time; a pass asked for meanwhile follows it. */
  #handleFailures(): void {
    if (this.#handlingFailures) {
      this.#failuresAgain = true;
      return;
    }
    this.#failuresAgain = false;
    this.#handlingFailures = this.#failureHandlers.run()
      .then(() => undefined, (error: unknown) => this.#logger.warn({ err: error }, 'failure handlers did not finish; they run again at the next poll'))
      .finally(() => {
        this.#handlingFailures = undefined;
        if (this.#failuresAgain && !this.#stopping) this.#handleFailures();
      });
  }

  /**
   * Claims up to `limit` ready tasks of `queue` in one statement (ready-queue.ts), which also
   * records the attempts that ended since the last one. The rare leftovers take a second one:
   * leased rows whose task was cancelled meanwhile, and tasks whose workers died on their last
   * allowed attempt.
   */
  async #claim(queue: QueueName, limit: number): Promise<Claim[]> {
    const sentAt = performance.now();
    const answer = await this.#settler.claim({ queue, limit, workerId: this.id, leaseSeconds: heartbeatWindowSeconds(this.#heartbeatSeconds) });
    const { unclaimed } = answer;
    const claimed = await this.#stillLeased(answer.claimed, sentAt).catch((error: unknown) => {
      // Renewing failed (the database refused or went away): what was claimed goes back, unspent,
      // as the settler can write it (it retries), rather than sitting leased to nobody until the
      // leases lapse and their recovery spends an attempt.
      this.#logger.warn({ err: error, taskIds: answer.claimed.map(({ task }) => task.id) }, 'renewing the leases of a slow claim failed; its tasks are handed back');
      for (const { task } of answer.claimed) this.#record(task, { kind: 'released' }, 0);
      return [];
    });
    const abandoned = claimed.flatMap(({ task }) => (task.attempts > task.max_attempts ? [task] : []));
    // The claim committed: its tasks are this worker's whatever happens to the leftovers, and a
    // failure there must not leave them waiting for their leases to lapse.
    if (unclaimed.length > 0 || abandoned.length > 0) await this.#discard(unclaimed, abandoned).catch((error: unknown) => this.#discardLater(unclaimed, abandoned, error));
    return claimed.filter(({ task }) => task.attempts <= task.max_attempts);
  }

  /** Whether a statement sent at `sentAt` took long enough (a third of a lease) to renew its leases. */
  #waitedLong(sentAt: number): boolean {
    return performance.now() - sentAt >= (heartbeatWindowSeconds(this.#heartbeatSeconds) * 1000) / 3;
  }

  /**
   * The claims whose leases still hold. A lease's expiry counts from its statement's start, and a
   * statement can wait long before it commits (on the event-order lock, which a caller's
   * transaction holding a `submitWithin` keeps until it commits): its leases may have lapsed by
   * then, and a sweep may already have handed the tasks to another worker. After a slow statement
   * the leases are extended before anything starts, and a task whose lease is gone is left alone.
   */
  async #stillLeased<Claimed extends { task: TaskRecord }>(claims: Claimed[], sentAt: number): Promise<Claimed[]> {
    if (claims.length === 0 || !this.#waitedLong(sentAt)) return claims;
    const extended = await renewClaimedLeases(this.#dependencies.pool, this.id, claims.map(({ task }) => ({ taskId: task.id, lease: task.lease! })), heartbeatWindowSeconds(this.#heartbeatSeconds));
    const lost = claims.filter(({ task }) => !extended.has(task.id));
    if (lost.length > 0) this.#logger.warn({ taskIds: lost.map(({ task }) => task.id), waitedMs: Math.round(performance.now() - sentAt) }, 'a claim waited past its leases before it committed; tasks whose lease another worker took meanwhile are left to it');
    return claims.filter(({ task }) => extended.has(task.id));
  }

  /**
   * `#discard` failed (the database refused or went away): it is tried again with backoff until
   * it succeeds or the worker stops. It writes nothing when it fails, so a retry is safe; until
   * then the leftovers' leases hold their tasks, and a task cancelled meanwhile is ended by the
   * cancel itself (a running task no attempt holds is cancelled at once, cancel.ts).
   */
  #discardLater(unclaimed: Array<{ taskId: string; lease: string }>, abandoned: TaskRecord[], error: unknown, delayMs = 500): void {
    if (this.#stopping) return;
    this.#logger.warn({ err: error, retryInMs: delayMs }, 'discarding claimed rows whose tasks cannot run failed; retrying');
    setTimeout(() => {
      if (this.#stopping) return;
      this.#discard(unclaimed, abandoned).catch((again: unknown) => this.#discardLater(unclaimed, abandoned, again, Math.min(30_000, delayMs * 2)));
    }, delayMs).unref();
  }

  /**
   * Drops the leases of claimed rows whose task was no longer runnable (cancelling those whose
   * cancel was requested while they were between workers), and fails the tasks whose workers
   * died while running them on their last allowed attempt.
   */
  async #discard(unclaimed: Array<{ taskId: string; lease: string }>, abandoned: TaskRecord[]): Promise<void> {
    const ended = await withTransaction(this.#dependencies.pool, async (transaction) => {
      const events: NewEvent[] = [];
      const cancelled = await transaction.query<TaskRecord>(
        `UPDATE tasks SET status = 'cancelled', completed_at = now(), updated_at = now(), lease = NULL
         WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'retrying', 'running') AND cancel_requested_at IS NOT NULL
         RETURNING ${taskColumns}`,
        [unclaimed.map((row) => row.taskId)],
      );
      for (const task of cancelled.rows) events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_cancelled', payload: { previous_state: 'queued', reason: 'requested' } });
      if (abandoned.length > 0) {
        const error = { code: 'abandoned', message: 'The task\'s worker stopped responding on its last allowed attempt.', retryable: false };
        await transaction.query(
          `UPDATE tasks SET status = 'failed', error = $2, completed_at = now(), updated_at = now(), lease = NULL WHERE id = ANY($1::uuid[])`,
          [abandoned.map((task) => task.id), JSON.stringify(error)],
        );
        for (const task of abandoned) events.push({ taskId: task.id, tenant: task.tenant, projectId: task.project_id, type: 'task_failed', payload: { error, attempt: task.attempts } });
      }
      await releaseLeases(transaction, [...unclaimed, ...abandoned.map((task) => ({ taskId: task.id, lease: task.lease }))]);
      // A task that ended takes its unresolved waits with it, as every other ending does.
      await cancelPendingWaitpoints(transaction, [...cancelled.rows, ...abandoned].map((task) => task.id));
      // Children that ended here may be what a parent waits for.
      const parents = [...cancelled.rows, ...abandoned].flatMap((task) => (task.parent_task_id === null ? [] : [task.parent_task_id]));
      if (parents.length > 0) await resolveChildWaits(transaction, parents);
      await appendEvents(transaction, events);
      return [...cancelled.rows, ...abandoned];
    });
    if (ended.some((task) => this.#failureHandlers.handles(task.task_type))) this.#handleFailures();
  }

  #start(claim: Claim): void {
    const controller = new AbortController();
    const running: Running = { ...claim, controller, released: false, done: Promise.resolve() };
    this.#active.set(claim.task.id, running);
    // An eager start's task, or one claimed ahead, whose cancel was heard before it was placed.
    if (this.#heardCancelOf(claim.task.id)) controller.abort(new TaskAbortedError('cancelled'));
    running.done = this.#execute(running);
  }

  /**
   * The handler is done: its slot frees now, while the outcome is recorded in the background,
   * so the next claim overlaps this settle instead of waiting for its commit. The task's lease
   * stays until the settle commits, so same-key tasks still wait for it.
   */
  #release(running: Running): void {
    if (this.#active.get(running.task.id) !== running) return;
    this.#active.delete(running.task.id);
    this.#wakeUp();
  }

  async #execute(running: Running): Promise<void> {
    const { task, controller } = running;
    const { registry, pool, logger } = this.#dependencies;
    // Workers claim by queue, so in a rolling deploy one still on the previous release can claim
    // a type only the new release has: handed back, unspent, for a worker that knows it, rather
    // than failed for good.
    // A type no worker has registered for so long (removed, or never deployed) fails: handed
    // back for ever, it would write two events every 30 s and never end.
    if (!registry.has(task.task_type)) {
      if (Date.now() - Date.parse(task.created_at) > unknownTypeGiveUpMs) {
        const error = serializeError(new UnknownTaskTypeError(task.task_type, registry.types()));
        logger.warn({ taskId: task.id, taskType: task.task_type }, `task type "${task.task_type}" has had no worker for an hour; the task fails`);
        this.#record(task, { kind: 'failed', error: { ...error, message: `No worker has registered task type "${task.task_type}" since the task was submitted, over an hour ago: ${error.message}`, attempt: task.attempts } }, 0);
      } else {
        logger.warn({ taskId: task.id, taskType: task.task_type, retryInMs: unknownTypeRetryMs }, `task type "${task.task_type}" is not registered in this worker; handed back for a worker that has it`);
        this.#record(task, { kind: 'snoozed', delayMs: unknownTypeRetryMs, reason: 'unknown_task_type' }, 0);
      }
      this.#release(running);
      return;
    }
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    let outcome: Outcome;
    let attempt: AttemptContext<unknown> | undefined;
    try {
      const definition = registry.get(task.task_type);
      const hardTimeoutMs = definition.hardTimeoutMs ?? queuePolicy(definition.queue).hardTimeoutMs;
      const hardTimeout = new Promise<never>((_, reject) => {
        timers.push(setTimeout(() => {
          controller.abort(new TaskAbortedError('hard_timeout'));
          reject(new HardTimeoutError(task.id, hardTimeoutMs));
        }, hardTimeoutMs));
      });
      if (definition.softTimeoutMs !== undefined) {
        timers.push(setTimeout(() => controller.abort(new TaskAbortedError('soft_timeout')), definition.softTimeoutMs));
      }
      const input = validateInput(definition, task.input);
      attempt = createTaskContext(
        { pool, logger, submit: (request) => this.#dependencies.submit(request), holdChildrenWait: (waitpoint, signal) => this.#holdChildrenWait(waitpoint, signal), shortestRetryDelayMs: () => taskRetryDelayMs(definition, task.attempts, () => 0) },
        task, input, controller.signal, () => (running.firstRun ? Promise.resolve(new Map()) : loadCompletedSteps(pool, task.id)),
      );
      const result = await Promise.race([definition.run(attempt.context), hardTimeout]);
      const checkpoints = attempt.stepCommitsSettled();
      if (checkpoints !== undefined) await checkpoints;
      outcome = abortReason(controller.signal) === 'cancelled' || running.cancelRequested ? { kind: 'cancelled', result } : { kind: 'completed', result };
    } catch (error) {
      // The checkpoints the handler left on their way commit (or fail) before the outcome is
      // recorded; not after a hard timeout, which settles without waiting for the handler.
      if (abortReason(controller.signal) !== 'hard_timeout') await attempt?.stepCommitsSettled();
      // The handler has ended: a timeout firing now (while the database is asked whether it went
      // away, up to 3 s) would only relabel what it threw.
      for (const timer of timers) clearTimeout(timer);
      outcome = await this.#failureOutcome(running, error);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
    const durationMs = performance.now() - started;
    // A park or a snooze says nothing about how long the queue's work takes.
    if (outcome.kind !== 'waiting' && outcome.kind !== 'snoozed') this.#noteHandlerDuration(task.queue, durationMs);
    if (running.released || (outcome.kind === 'failed' && outcome.error.code === 'lease_lost')) {
      this.#release(running);
      return;
    }
    this.#record(task, outcome, Math.round(durationMs));
    this.#release(running);
  }

  /** Records an attempt's outcome in the background; shutdown waits for it. */
  #record(task: TaskRecord, outcome: Outcome, durationMs: number): void {
    const settling = this.#settler.settle({ task, outcome, durationMs }).then(
      (applied) => {
        if (!applied) this.#logger.warn({ taskId: task.id }, 'attempt finished after losing its task; its outcome was not recorded');
      },
      (error: unknown) => {
        this.#logger.error({ err: error, taskId: task.id }, 'recording the outcome failed; the task resumes after its heartbeat lapses');
      },
    );
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
  }

  /**
   * Lets an attempt hold its pending children wait (wait-hold.ts) while this worker has a slot
   * free beside it and fewer than half its slots hold waits: the children may need this worker's
   * slots, and attempts holding all of them would keep them queued until their holds ran out.
   * Not while stopping.
   */
  async #holdChildrenWait(waitpoint: WaitpointRecord, signal: AbortSignal): Promise<boolean> {
    if (this.#childWaitHoldMs <= 0 || this.#stopping) return false;
    if (this.#holdingWaits >= Math.floor(this.#concurrency / 2) || this.#freeSlots() <= 0) return false;
    this.#holdingWaits += 1;
    try {
      return await holdUntilResolved(this.#dependencies.events, this.#dependencies.pool, waitpoint, { holdMs: this.#childWaitHoldMs, signal });
    } catch (error) {
      // The event hub failing (its connection lost) costs the hold, not the wait: park.
      this.#logger.debug({ err: error, taskId: waitpoint.task_id }, 'holding a children wait failed; the task parks');
      return false;
    } finally {
      this.#holdingWaits -= 1;
    }
  }

  /**
   * Whether the database answers a trivial query within a few seconds: asked when an attempt
   * threw a socket error that may be the database's or the handler's own (attempt-ending.ts).
   */
  async #databaseAnswers(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), databaseProbeTimeoutMs); });
    try {
      return await Promise.race([this.#dependencies.pool.query('SELECT 1').then(() => true, () => false), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #failureOutcome(running: Running, error: unknown): Promise<Outcome> {
    const { task, controller } = running;
    if (running.cancelRequested) return { kind: 'cancelled', result: null };
    const databaseAnswered = needsDatabaseProbe(error) ? await this.#databaseAnswers() : undefined;
    const ending = attemptEnding({ taskId: task.id, signal: controller.signal, willRetry: task.attempts < task.max_attempts, ...(databaseAnswered === undefined ? {} : { databaseAnswered }) }, error);
    switch (ending.kind) {
      case 'released': return { kind: 'released' };
      case 'cancelled': return { kind: 'cancelled', result: null };
      case 'lease_lost': return { kind: 'failed', error: { code: 'lease_lost' } };
      case 'waiting': return ending;
      case 'snoozed': return ending;
    }
    const serialized = serializeError(ending.cause);
    const errorRecord = { ...serialized, attempt: task.attempts };
    if (ending.kind === 'retry') {
      const definition = this.#dependencies.registry.has(task.task_type) ? this.#dependencies.registry.get(task.task_type) : undefined;
      const delayMs = taskRetryDelayMs(definition, task.attempts);
      this.#logger.warn({ taskId: task.id, attempt: task.attempts, delayMs, error: serialized.message }, 'task attempt failed; retrying');
      return { kind: 'retry', error: errorRecord, delayMs };
    }
    this.#logger.warn({ taskId: task.id, attempt: task.attempts, error: serialized.message }, 'task failed');
    return { kind: 'failed', error: errorRecord };
  }

  /**
   * Stops the attempt of `taskId`, when `lease` (the lease it was seen with) is the one it runs
   * under: the task may have been handed back and claimed again by this worker since.
   */
  #abort(taskId: string, reason: 'cancelled' | 'lease_lost', lease?: string | null): void {
    const ahead = this.#claimedAhead.find((claim) => claim.task.id === taskId && (lease === undefined || claim.task.lease === lease));
    if (ahead) {
      // Never started: a cancel ends it here; a lost lease means another worker has it now.
      this.#claimedAhead = this.#claimedAhead.filter((claim) => claim !== ahead);
      if (reason === 'cancelled') this.#record(ahead.task, { kind: 'cancelled', result: null }, 0);
      return;
    }
    const running = this.#active.get(taskId);
    if (!running && reason === 'cancelled' && lease === undefined) {
      this.#rememberCancel(taskId);
      return;
    }
    if (!running || (lease !== undefined && running.task.lease !== lease)) return;
    if (!running.controller.signal.aborted) running.controller.abort(new TaskAbortedError(reason));
    else if (reason === 'cancelled') running.cancelRequested = true;
  }

  /** Whether a cancel for `taskId` was heard within `heardCancelMs`; the entry goes either way. */
  #heardCancelOf(taskId: string): boolean {
    const at = this.#cancelsHeard.get(taskId);
    if (at === undefined) return false;
    this.#cancelsHeard.delete(taskId);
    return Date.now() - at < heardCancelMs;
  }

  #rememberCancel(taskId: string): void {
    const now = Date.now();
    // Oldest first (a Map keeps insertion order): drop those past the window.
    for (const [heard, at] of this.#cancelsHeard) {
      if (now - at < heardCancelMs) break;
      this.#cancelsHeard.delete(heard);
    }
    this.#cancelsHeard.delete(taskId);
    this.#cancelsHeard.set(taskId, now);
  }

  /** Refreshes this worker's heartbeat row and its leases; catches cancel requests or lost leases a NOTIFY missed. */
  async #beat(): Promise<void> {
    const { pool } = this.#dependencies;
    await touchWorker(pool, this.#registration()).catch((error: unknown) => this.#logger.warn({ err: error }, 'worker heartbeat failed'));
    const leased = [...this.#active.values(), ...this.#claimedAhead];
    const held = [...leased.map((claim) => claim.task.id), ...this.#settler.unsettledTaskIds];
    await extendLeases(pool, this.id, held, heartbeatWindowSeconds(this.#heartbeatSeconds)).catch((error: unknown) => this.#logger.warn({ err: error }, 'extending leases failed'));
    if (leased.length === 0) return;
    try {
      const states = await pool.query<{ id: string; lease: string | null; cancel_requested_at: Date | null }>(
        'SELECT id, lease, cancel_requested_at FROM tasks WHERE id = ANY($1::uuid[])',
        [leased.map((claim) => claim.task.id)],
      );
      const byId = new Map(leased.map((claim) => [claim.task.id, claim]));
      for (const state of states.rows) {
        const claim = byId.get(state.id);
        if (!claim) continue;
        // The attempt this worker read the lease of, not one that has begun since (a snooze or a
        // hand-back claimed again while this read was in flight).
        if (state.lease !== claim.task.lease) this.#abort(state.id, 'lease_lost', claim.task.lease);
        else if (state.cancel_requested_at) this.#abort(state.id, 'cancelled', claim.task.lease);
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'heartbeat failed');
    }
  }
}
