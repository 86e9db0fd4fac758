/**
 * The deadlines and polling interval of one wait or follow (the Rust SDK's `wait::Clock`).
 *
 * A run is finished for a client when its status is terminal and its cleanup is no longer
 * pending or running. The status turns terminal when cleanup starts, so a wait keeps watching
 * after it for at most {@link WaitOptions.cleanupGraceMs}, then returns the run as it is.
 *
 * The interval starts at {@link WaitOptions.initialIntervalMs}, grows by half after every poll
 * that saw nothing new, up to {@link WaitOptions.maxIntervalMs}, and drops back when something
 * changed, so an active run is watched closely and a long quiet one costs few requests.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";

import { AntpathWaitTimeoutError } from "./errors.js";
import { isFinished, isTerminal, type Run } from "./types.js";

/** How a wait or follow watches a run. */
export interface WaitOptions {
  /** The first interval between polls (default 500 ms). */
  readonly initialIntervalMs?: number;
  /** The longest interval between polls (default 5 s). */
  readonly maxIntervalMs?: number;
  /**
   * Give up with {@link AntpathWaitTimeoutError} after this long (default: wait for ever).
   * Once the status is terminal the wait never fails: at the time-out it returns the run.
   */
  readonly timeoutMs?: number;
  /** After the status turned terminal, how long to wait for cleanup to settle (default 30 s). */
  readonly cleanupGraceMs?: number;
  /** Stops the wait; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** How long a wait keeps watching for cleanup after the status turned terminal, by default. */
export const DEFAULT_CLEANUP_GRACE_MS = 30_000;

/** What a wait does after reading the run. */
export type Next =
  | { readonly kind: "return" }
  | { readonly kind: "sleep"; readonly ms: number }
  | { readonly kind: "timeout"; readonly at: number };

const now = (): number => performance.now();

/** The clock of one wait. */
export class Clock {
  readonly #runId: string;
  readonly #initial: number;
  readonly #max: number;
  readonly #grace: number;
  readonly #deadline: number | undefined;
  readonly #started = now();
  readonly signal: AbortSignal | undefined;
  #interval: number;
  /** When the status was first seen terminal; the cleanup grace counts from here. */
  #terminalSince: number | undefined;

  constructor(runId: string, options: WaitOptions = {}) {
    this.#runId = runId;
    this.#initial = options.initialIntervalMs ?? 500;
    this.#max = options.maxIntervalMs ?? 5_000;
    this.#grace = options.cleanupGraceMs ?? DEFAULT_CLEANUP_GRACE_MS;
    this.#deadline = options.timeoutMs === undefined ? undefined : this.#started + options.timeoutMs;
    this.#interval = this.#initial;
    this.signal = options.signal;
  }

  /** Resets the interval after a change, or lets it grow after a quiet poll. */
  changed(changed: boolean): void {
    this.#interval = changed ? this.#initial : Math.min(this.#interval * 1.5, this.#max);
  }

  /** Decides after reading `run`. */
  next(run: Run): Next {
    if (isFinished(run)) return { kind: "return" };
    const t = now();
    if (isTerminal(run.status)) {
      this.#terminalSince ??= t;
      const end = Math.min(this.#terminalSince + this.#grace, this.#deadline ?? Infinity);
      const left = end - t;
      return left > 0 ? { kind: "sleep", ms: Math.min(this.#interval, left) } : { kind: "return" };
    }
    if (this.#deadline !== undefined && t + this.#interval > this.#deadline) {
      return { kind: "timeout", at: this.#deadline };
    }
    return { kind: "sleep", ms: this.#interval };
  }

  /**
   * When a follower that hears of changes as they happen must stop waiting for the next one:
   * at the end of the cleanup grace (`timesOut: false`: return the run) or at the time-out
   * (`timesOut: true`: fail). In milliseconds on the `performance.now()` clock.
   */
  giveUpAt(): { at: number; timesOut: boolean } | undefined {
    if (this.#terminalSince !== undefined) {
      return { at: Math.min(this.#terminalSince + this.#grace, this.#deadline ?? Infinity), timesOut: false };
    }
    return this.#deadline === undefined ? undefined : { at: this.#deadline, timesOut: true };
  }

  /** The error of a wait that ran out of time. */
  timedOut(): AntpathWaitTimeoutError {
    return new AntpathWaitTimeoutError(this.#runId, Math.round(now() - this.#started));
  }

  /** Sleeps as `next` says; throws at the time-out. */
  async sleep(next: Next): Promise<void> {
    if (next.kind === "sleep") {
      await sleep(next.ms, undefined, { signal: this.signal });
    } else if (next.kind === "timeout") {
      await sleep(Math.max(0, next.at - now()), undefined, { signal: this.signal });
      throw this.timedOut();
    }
  }

  /** Milliseconds from now until `at` (on the same clock), at least 0. */
  static until(at: number): number {
    return Math.max(0, at - now());
  }
}
