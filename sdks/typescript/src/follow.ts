/**
 * Following a run to its end: `runs.wait` and the progress stream `runs.follow` (the Rust
 * SDK's `wait.rs` and `live.rs`).
 *
 * `follow` listens to the server's live stream of the run (`GET /v1/runs/{id}/stream`,
 * Server-Sent Events) when the server has it: the run and its events arrive as they happen.
 * A dropped stream is reopened with `Last-Event-ID`, so no event is missed or repeated;
 * failures to reopen are retried like any safe request, and a connection silent for 45 s (the
 * server sends a keep-alive every 15 s) counts as dropped. A server without the route (`404`,
 * `405` or `501` on the first attempt, or an answer that is not an event stream) is followed
 * by polling instead; its `404` looks like an unknown run's, so the polling's first read of
 * the run decides.
 *
 * Polled events are read from the cursor of the last page that was not full, and anything at or
 * below the highest `seq` already seen is skipped (by the stream too), so nothing is yielded
 * twice and nothing is missed.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";

import { Clock, type Next, type WaitOptions } from "./clock.js";
import { AntpathApiError, AntpathConnectionError, AntpathDecodeError, type AntpathError } from "./errors.js";
import { errorFromResponse, isRetryable, type Transport } from "./http.js";
import { retryDelayMs } from "./retry.js";
import { SseReader, type SseMessage } from "./sse.js";
import type { CleanupState, Run, RunEvent, RunEventPage, RunStatus } from "./types.js";

/** One step of a followed run. */
export type Progress =
  /** The status changed; the first item is always one, with `previous` undefined. */
  | { readonly type: "status"; readonly run: Run; readonly previous: RunStatus | undefined }
  /** The cleanup state changed while the status stayed the same. */
  | { readonly type: "cleanup"; readonly run: Run; readonly previous: CleanupState }
  /** A new event arrived. */
  | { readonly type: "event"; readonly event: RunEvent };

/** A stream silent (not even a keep-alive) for this long is taken for dropped and reopened. */
const STREAM_IDLE_LIMIT_MS = 45_000;

/** Options of `runs.follow`. */
export interface FollowOptions extends WaitOptions {
  /** `false` polls even when the server has the live stream. */
  readonly live?: boolean;
}

/** Reads the run `id` until it is finished (or the cleanup grace is over) and returns it. */
export async function waitForRun(transport: Transport, id: string, options: WaitOptions = {}): Promise<Run> {
  const clock = new Clock(id, options);
  let last: string | undefined;
  for (;;) {
    const run = await getRun(transport, id, options.signal);
    const seen = `${run.status}/${run.cleanup?.state}`;
    clock.changed(last !== seen);
    last = seen;
    const next = clock.next(run);
    if (next.kind === "return") return run;
    await clock.sleep(next);
  }
}

/** The changes and new events of run `id` as they arrive, ending once it is finished. */
export async function* followRun(
  transport: Transport,
  id: string,
  options: FollowOptions = {},
): AsyncGenerator<Progress, void, undefined> {
  const follower = new Follower(transport, id, new Clock(id, options));
  if (options.live !== false) {
    const live = new LiveStream(follower);
    try {
      if (yield* live.follow()) return;
    } finally {
      await live.close();
    }
  }
  yield* follower.poll();
}

function getRun(transport: Transport, id: string, signal: AbortSignal | undefined): Promise<Run> {
  return transport.json<Run>({ method: "GET", path: `/v1/runs/${encodeURIComponent(id)}`, repeat: "safe", signal });
}

/** What the follow has seen, shared by the live stream and polling. */
class Follower {
  #seen: { status: RunStatus | undefined; cleanup: CleanupState | undefined } | undefined;
  #lastSeq = 0;
  #pageCursor: string | undefined;

  constructor(
    readonly transport: Transport,
    readonly id: string,
    readonly clock: Clock,
  ) {}

  /** The progress item `run` shows, if it shows a change. */
  sawRun(run: Run): Progress | undefined {
    const now = { status: run.status, cleanup: run.cleanup?.state };
    const before = this.#seen;
    this.#seen = now;
    if (before !== undefined && before.status === now.status && before.cleanup === now.cleanup) return undefined;
    if (before !== undefined && before.status === now.status && before.cleanup !== undefined) {
      return { type: "cleanup", run, previous: before.cleanup };
    }
    return { type: "status", run, previous: before?.status };
  }

  /** The progress item of `event`, unless it was already yielded. */
  sawEvent(event: RunEvent): Progress | undefined {
    const seq = event.seq ?? 0;
    if (seq <= this.#lastSeq) return undefined;
    this.#lastSeq = seq;
    return { type: "event", event };
  }

  /** Polls until the run is finished. */
  async *poll(): AsyncGenerator<Progress, void, undefined> {
    let next: Next | undefined;
    for (;;) {
      if (next !== undefined) await this.clock.sleep(next);
      // The run first: events read afterwards include everything before its status.
      const run = await getRun(this.transport, this.id, this.clock.signal);
      const events = await this.#readEvents();
      const change = this.sawRun(run);
      this.clock.changed(events.length > 0 || change !== undefined);
      next = this.clock.next(run);
      yield* events;
      if (change !== undefined) yield change;
      if (next.kind === "return") return;
    }
  }

  async #readEvents(): Promise<Progress[]> {
    const fresh: Progress[] = [];
    for (;;) {
      const page = await this.transport.json<RunEventPage>({
        method: "GET",
        path: `/v1/runs/${encodeURIComponent(this.id)}/events`,
        query: { limit: 100, cursor: this.#pageCursor },
        repeat: "safe",
        signal: this.clock.signal,
      });
      for (const event of page.data) {
        const item = this.sawEvent(event);
        if (item !== undefined) fresh.push(item);
      }
      // An empty page with a cursor would loop for ever; read it again at the next poll.
      if (page.next_cursor === null || page.next_cursor === undefined || page.data.length === 0) return fresh;
      this.#pageCursor = page.next_cursor;
    }
  }
}

type Chunk =
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "closed" }
  | { kind: "silent" };

/** The live half of a follow: the run's event stream, reopened when it drops. */
class LiveStream {
  readonly #follower: Follower;
  readonly #reader = new SseReader();
  #body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Failed opens and dropped streams since a message last arrived. */
  #failures = 0;
  #retryAfterMs: number | undefined;
  /** Whether a stream was ever opened: from then on a `404` is the run's, not the route's. */
  #opened = false;

  constructor(follower: Follower) {
    this.#follower = follower;
  }

  /** Yields the run's progress; returns true when the follow is over, false to poll instead. */
  async *follow(): AsyncGenerator<Progress, boolean, undefined> {
    const clock = this.#follower.clock;
    for (;;) {
      if (this.#body === undefined) {
        const opened = await this.#open();
        if (opened === "poll") return false;
        continue;
      }
      const giveUp = clock.giveUpAt();
      const idleAt = performance.now() + STREAM_IDLE_LIMIT_MS;
      const chunk = await this.#read(this.#body, Math.min(giveUp?.at ?? Infinity, idleAt));
      if (chunk.kind === "data") {
        let messages: SseMessage[];
        try {
          messages = this.#reader.feed(chunk.bytes);
        } catch (caught) {
          throw new AntpathDecodeError(`the run stream: ${(caught as Error).message}`);
        }
        if (messages.length > 0) this.#failures = 0;
        for (const message of messages) {
          const { items, done } = this.#handle(message);
          yield* items;
          if (done) return true;
        }
      } else if (chunk.kind === "silent" && giveUp !== undefined && performance.now() >= giveUp.at) {
        if (giveUp.timesOut) throw clock.timedOut();
        // The cleanup grace is over: the follow ends with the run as it is.
        return true;
      } else {
        // The connection broke, the server closed it (a restart) or it went silent: reopen.
        await this.#drop();
      }
    }
  }

  /** Cancels an open stream. */
  async close(): Promise<void> {
    const body = this.#body;
    this.#body = undefined;
    await body?.cancel().catch(() => undefined);
  }

  async #drop(): Promise<void> {
    await this.close();
    this.#reader.resetConnection();
    this.#failures += 1;
    this.#retryAfterMs = undefined;
  }

  /** The next chunk, or `silent` when nothing came before `until` (performance.now() ms). */
  async #read(body: ReadableStreamDefaultReader<Uint8Array>, until: number): Promise<Chunk> {
    const timer = new AbortController();
    const silent = sleep(Clock.until(until), { kind: "silent" } as Chunk, { signal: timer.signal }).catch(
      () => ({ kind: "silent" }) as Chunk,
    );
    const aborted = new Promise<never>((_, reject) => {
      const signal = this.#follower.clock.signal;
      if (signal === undefined) return;
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true, signal: timer.signal });
    });
    try {
      return await Promise.race([
        body.read().then(
          (r): Chunk => (r.done ? { kind: "closed" } : { kind: "data", bytes: r.value }),
          (): Chunk => ({ kind: "closed" }),
        ),
        silent,
        aborted,
      ]);
    } finally {
      timer.abort();
    }
  }

  /** Opens the stream, after the retry policy's pause when the last attempt failed. */
  async #open(): Promise<"open" | "retry" | "poll"> {
    const { transport, id, clock } = this.#follower;
    if (this.#failures > transport.retry.maxRetries) {
      throw new AntpathConnectionError(transport.baseUrl, "the run stream kept closing before sending anything");
    }
    if (this.#failures > 0) {
      await sleep(retryDelayMs(transport.retry, this.#failures, this.#retryAfterMs), undefined, { signal: clock.signal });
    }
    const headers: Record<string, string> = { accept: "text/event-stream" };
    const lastId = this.#reader.lastEventId;
    if (lastId !== undefined) headers["last-event-id"] = lastId;
    const call = { method: "GET", path: `/v1/runs/${encodeURIComponent(id)}/stream`, repeat: "safe", headers, signal: clock.signal } as const;
    let response: Response;
    try {
      response = await transport.attempt(call, true);
    } catch (caught) {
      if (clock.signal?.aborted) throw clock.signal.reason;
      return this.#failed(transport.transportError(caught, {}));
    }
    const eventStream = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if (response.ok && eventStream && response.body !== null) {
      this.#body = response.body.getReader();
      this.#opened = true;
      return "open";
    }
    if (!this.#opened && (response.ok || [404, 405, 501].includes(response.status))) {
      // No stream here (an older server): poll. Its first read reports a run that does not exist.
      await response.body?.cancel().catch(() => undefined);
      return "poll";
    }
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new AntpathDecodeError("the run stream answered without an event stream", response.headers.get("x-request-id") ?? undefined);
    }
    const error = await errorFromResponse(response, transport.secrets());
    if (!isRetryable(error)) throw error;
    return this.#failed(error);
  }

  /** Counts a failed open: throws past the retry policy, else tries again. */
  #failed(error: AntpathError): "retry" {
    this.#failures += 1;
    if (this.#failures > this.#follower.transport.retry.maxRetries) throw error;
    this.#retryAfterMs = error instanceof AntpathApiError ? error.retryAfterMs : undefined;
    return "retry";
  }

  /** The progress items of one message, and whether the follow is over. */
  #handle(message: SseMessage): { items: Progress[]; done: boolean } {
    const follower = this.#follower;
    if (message.event === "run" || message.event === "end") {
      const run = decodeMessage<Run>(message.data);
      const next = follower.clock.next(run);
      const change = follower.sawRun(run);
      return { items: change ? [change] : [], done: message.event === "end" || next.kind === "return" };
    }
    if (message.event === "event") {
      const item = follower.sawEvent(decodeMessage<RunEvent>(message.data));
      return { items: item ? [item] : [], done: false };
    }
    // Message names it does not know are skipped: a newer server may add some.
    return { items: [], done: false };
  }
}

function decodeMessage<T>(data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new AntpathDecodeError("a run stream message is not JSON");
  }
}
