/**
 * When and how long to wait before trying a request again (the Rust SDK's `retry` module).
 *
 * Only requests that are safe to repeat are retried: reads, cancel and delete (idempotent on
 * the server), link creation, and a submission **that carries an idempotency key**: the server
 * answers a repeat of the same keyed request with the run it already created, so a retry after
 * a lost response cannot start a second run. A submission without a key is sent once.
 *
 * Retried: connection failures and time-outs, `429` and `5xx` other than `501`. A `Retry-After`
 * header (seconds, or an HTTP date) replaces the computed backoff, capped by
 * {@link RetryPolicy.maxRetryAfterMs} so a confused server cannot park the client for hours.
 *
 * @module
 */

/** How a client retries safe requests. */
export interface RetryPolicy {
  /** Retries after the first attempt; `0` disables retrying. */
  readonly maxRetries: number;
  /** The wait before the first retry; each further retry doubles it. */
  readonly initialBackoffMs: number;
  /** The longest computed wait between attempts. */
  readonly maxBackoffMs: number;
  /** The longest `Retry-After` honoured as given. */
  readonly maxRetryAfterMs: number;
}

/** Three retries from 250 ms, doubling up to 8 s; `Retry-After` honoured up to 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 3,
  initialBackoffMs: 250,
  maxBackoffMs: 8_000,
  maxRetryAfterMs: 60_000,
});

/**
 * The wait before retry number `retry` (1-based): exponential, capped, plus up to a quarter of
 * jitter so many clients do not retry in lockstep. A server's `Retry-After` wins when given.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const base = Math.min(policy.initialBackoffMs * 2 ** Math.max(0, retry - 1), policy.maxBackoffMs);
  return base + Math.random() * (base / 4);
}

/** True for statuses worth another attempt of a safe request. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

/** Reads `Retry-After` (delta-seconds or an HTTP date) as milliseconds from now. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[A-Za-z]/.test(text)) return undefined;
  return Math.max(0, at - Date.now());
}
