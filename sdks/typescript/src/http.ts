/**
 * The one request path every call goes through: the token in the `Authorization` header of
 * each attempt and nowhere else, a W3C `traceparent` per request, a time-out per attempt, the
 * retries of {@link RetryPolicy} for requests that are safe to repeat, and the API's error body
 * turned into an {@link AntpathApiError}.
 *
 * Every text that ends up in an error (the transport's reason, the server's message and
 * details) is scrubbed of the secrets the call carried (the token, and a submission's secrets)
 * first: the server never echoes them, and this makes sure no future change can either.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import {
  AntpathApiError,
  AntpathConnectionError,
  AntpathDecodeError,
  AntpathError,
  AntpathTimeoutError,
  AntpathUnexpectedResponseError,
  isApiErrorBody,
  type ApiErrorBody,
} from "./errors.js";
import { isRetryableStatus, parseRetryAfter, retryDelayMs, type RetryPolicy } from "./retry.js";

/** Whether a request may be sent again when its outcome is unknown. */
export type Repeat = "safe" | "once";

/** One API request, rebuilt for every attempt. */
export interface Call {
  readonly method: "GET" | "POST" | "DELETE";
  /** The path under the base URL, such as `/v1/runs`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly repeat: Repeat;
  /** Extra headers (`Accept`, `Last-Event-ID`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Secrets in the body, scrubbed from any error text. */
  readonly secrets?: readonly string[];
  /** Aborts the call (and its retries). */
  readonly signal?: AbortSignal | undefined;
}

/** The settings the transport runs with. */
export interface TransportOptions {
  readonly baseUrl: string;
  readonly apiToken: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly userAgent: string;
  readonly fetch: typeof fetch;
}

/** The redaction marker that replaces a secret in any text. */
export const REDACTED = "[redacted]";

/** Sends API requests; holds the token where only {@link Transport.send} reads it. */
export class Transport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly #token: string;
  readonly #userAgent: string;
  readonly #fetch: typeof fetch;

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl;
    this.timeoutMs = options.timeoutMs;
    this.retry = options.retry;
    this.#token = options.apiToken;
    this.#userAgent = options.userAgent;
    this.#fetch = options.fetch;
  }

  /** Sends `call` and decodes the successful JSON body. */
  async json<T>(call: Call): Promise<T> {
    const response = await this.send(call);
    return decode<T>(response, this.#secretsOf(call));
  }

  /**
   * Sends `call`, retrying as its {@link Repeat} allows, and returns the first successful
   * response (its body unread) or throws the final error.
   */
  async send(call: Call): Promise<Response> {
    for (let retry = 0; ; retry += 1) {
      let error: AntpathError;
      try {
        const response = await this.attempt(call);
        if (response.ok) return response;
        error = await errorFromResponse(response, this.#secretsOf(call));
      } catch (caught) {
        if (call.signal?.aborted) throw call.signal.reason;
        error = this.transportError(caught, call);
      }
      const retryable = isRetryable(error);
      if (call.repeat === "once" || !retryable || retry >= this.retry.maxRetries) throw error;
      const retryAfter = error instanceof AntpathApiError ? error.retryAfterMs : undefined;
      await sleep(retryDelayMs(this.retry, retry + 1, retryAfter), undefined, { signal: call.signal });
    }
  }

  /**
   * One attempt of `call`. The time-out covers the answer's head only when `headOnly` is set
   * (a stream's body is open-ended); otherwise it covers the whole answer, body included.
   */
  async attempt(call: Call, headOnly = false): Promise<Response> {
    const url = new URL(`${this.baseUrl}${call.path}`);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      "user-agent": this.#userAgent,
      traceparent: newTraceparent(),
      accept: "application/json",
      ...call.headers,
    };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new AntpathTimeoutError(this.timeoutMs)), this.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
    try {
      const response = await this.#fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal,
        redirect: "error",
      });
      if (headOnly) return response;
      // Read the body under the same time-out, so a stalled body counts as a failed attempt.
      const body = await response.arrayBuffer();
      return new Response(body.byteLength === 0 && nullBodyStatus(response.status) ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error of a failed attempt that got no answer. */
  transportError(caught: unknown, call: Pick<Call, "secrets">): AntpathError {
    if (caught instanceof AntpathError) return caught;
    if (caught instanceof Error && caught.name === "TimeoutError") return new AntpathTimeoutError(this.timeoutMs);
    return new AntpathConnectionError(this.baseUrl, scrubText(describeTransport(caught), this.#secretsOf(call)));
  }

  /** The secrets a call carries: the token and those of its body. */
  #secretsOf(call: Pick<Call, "secrets">): string[] {
    return [this.#token, ...(call.secrets ?? [])];
  }

  /** The secrets to scrub from errors of a request outside {@link Transport.send}. */
  secrets(extra: readonly string[] = []): string[] {
    return this.#secretsOf({ secrets: extra });
  }
}

/** Statuses whose answers have no body by definition. */
function nullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

/** Whether a failed safe request is worth another attempt. */
export function isRetryable(error: AntpathError): boolean {
  if (error instanceof AntpathConnectionError || error instanceof AntpathTimeoutError) return true;
  if (error instanceof AntpathApiError || error instanceof AntpathUnexpectedResponseError) {
    return isRetryableStatus(error.status);
  }
  return false;
}

/** Decodes a successful JSON body. */
export async function decode<T>(response: Response, secrets: readonly string[]): Promise<T> {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  let text: string;
  try {
    text = await response.text();
  } catch (caught) {
    throw new AntpathDecodeError(`the body was cut short: ${scrubText(describeTransport(caught), secrets)}`, requestId);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AntpathDecodeError("the body is not JSON", requestId);
  }
}

/** Turns a non-success response into an error, keeping everything its body says. */
export async function errorFromResponse(response: Response, secrets: readonly string[]): Promise<AntpathError> {
  const headerId = response.headers.get("x-request-id") ?? undefined;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = undefined;
  }
  if (!isApiErrorBody(body)) return new AntpathUnexpectedResponseError(response.status, headerId);
  return new AntpathApiError({
    status: response.status,
    body: scrubValue(body, secrets) as ApiErrorBody,
    ...(headerId === undefined ? {} : { requestId: headerId }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** The innermost useful cause of a transport failure (fetch's own text is generic). */
function describeTransport(caught: unknown): string {
  let error: unknown = caught;
  let reason = error instanceof Error ? error.message : String(error);
  while (error instanceof Error && error.cause !== undefined) {
    error = error.cause;
    if (error instanceof Error && error.message) reason = error.message;
  }
  return reason;
}

/** `text` with every secret (of at least 4 characters) replaced by {@link REDACTED}. */
export function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** `value` with {@link scrubText} applied to every string in it, keys included. */
function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") return scrubText(value, secrets);
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [scrubText(key, secrets), scrubValue(member, secrets)]),
    );
  }
  return value;
}

/** A fresh sampled `traceparent` rooting a new trace. */
export function newTraceparent(): string {
  const bytes = randomBytes(24);
  // An all-zero id is invalid; 24 random bytes being zero is not a practical concern, but
  // setting one bit keeps the header valid by construction.
  bytes[0] = (bytes[0] ?? 0) | 0x01;
  bytes[16] = (bytes[16] ?? 0) | 0x01;
  return `00-${bytes.subarray(0, 16).toString("hex")}-${bytes.subarray(16).toString("hex")}-01`;
}
