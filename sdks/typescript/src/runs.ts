/**
 * `client.runs`: submit, read, list, events, outputs, downloads, cancel, delete, wait and
 * follow. Every route's retry rule is the Rust SDK's: reads, cancel, delete and link creation
 * are retried; a submission only when it has an idempotency key.
 *
 * @module
 */

import { join } from "node:path";

import { downloadOutput, type DownloadedFile } from "./download.js";
import { localFileNames } from "./file-names.js";
import { followRun, waitForRun, type FollowOptions, type Progress } from "./follow.js";
import type { WaitOptions } from "./clock.js";
import { decode, type Transport } from "./http.js";
import { AntpathError } from "./errors.js";
import type { CleanupPolicy, Limits, TemplateDocument } from "./template/model.js";
import { Template, type VariableSpecs, type VariableValues } from "./template/define.js";
import type { Output, Run, RunEvent, RunEventPage, RunOutputs, RunPage, RunStatus, SignedLink } from "./types.js";

/** The run's credentials: the only place a secret may be in a submission. */
export interface RunSecrets {
  readonly anthropic: { readonly apiKey: string };
  /** Bearer tokens of the template's `static_bearer` MCP servers, by server name. */
  readonly mcpServers?: { readonly [server: string]: { readonly bearerToken: string } };
}

/** A run submission for a template declaring the variables `V`. */
export type SubmitRequest<V extends VariableSpecs = VariableSpecs> = {
  /** A defined template (sent in its normal form) or a template document (sent as it is). */
  readonly template: Template<V> | TemplateDocument<V>;
  readonly secrets: RunSecrets;
  /** Overrides the template's cleanup policy. */
  readonly cleanup?: CleanupPolicy;
  /** Overrides the template's limits, field by field (clamped by the plan). */
  readonly limits?: Limits;
  /**
   * Makes the submission idempotent: a repeat with the same key and request returns the run
   * created first (HTTP 200), so the client may retry it after a lost response.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
} & ({} extends VariableValues<V>
  ? { readonly variables?: VariableValues<V> }
  : { readonly variables: VariableValues<V> });

/** What {@link Runs.submitDetailed} learnt. */
export interface Submitted {
  readonly run: Run;
  /** `true` when this request created the run (201); `false` for a repeat of a keyed one (200). */
  readonly created: boolean;
  /** The `x-request-id` of the answer. */
  readonly requestId: string | undefined;
}

/** Filters and paging of {@link Runs.list}. */
export interface ListRunsOptions {
  readonly status?: RunStatus;
  /** Page size, 1–100 (the server's default is 20). */
  readonly limit?: number;
  /** The `next_cursor` of an earlier page. */
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

/** Paging of {@link Runs.events}. */
export interface ListEventsOptions {
  /** Page size, 1–100. */
  readonly limit?: number;
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

/** A cursor-paged list: iterate it for items (`for await`), or {@link Paged.pages} for pages. */
export class Paged<T, P extends { data: T[]; next_cursor?: string | null }> implements AsyncIterable<T> {
  readonly #fetch: (cursor: string | undefined) => Promise<P>;
  readonly #first: string | undefined;

  /** @internal */
  constructor(first: string | undefined, fetch: (cursor: string | undefined) => Promise<P>) {
    this.#first = first;
    this.#fetch = fetch;
  }

  /** Every page, from the first cursor to the page without a `next_cursor`. */
  async *pages(): AsyncGenerator<P, void, undefined> {
    let cursor = this.#first;
    for (;;) {
      const page = await this.#fetch(cursor);
      yield page;
      if (page.next_cursor === null || page.next_cursor === undefined || page.data.length === 0) return;
      cursor = page.next_cursor;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item of every page, collected. */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}

/** The run routes of the API. */
export class Runs {
  readonly #transport: Transport;

  /** @internal */
  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Submits a run. Without an idempotency key the request is sent exactly once (a lost answer
   * cannot be retried safely); with one it is retried like a read.
   */
  async submit<const V extends VariableSpecs>(request: SubmitRequest<V>): Promise<Run> {
    return (await this.submitDetailed(request)).run;
  }

  /** {@link Runs.submit}, also telling whether the run was created or an earlier one returned. */
  async submitDetailed<const V extends VariableSpecs>(request: SubmitRequest<V>): Promise<Submitted> {
    const secrets = [
      request.secrets.anthropic.apiKey,
      ...Object.values(request.secrets.mcpServers ?? {}).map((server) => server.bearerToken),
    ];
    const body: Record<string, unknown> = {
      template: request.template instanceof Template ? request.template.document : request.template,
      variables: request.variables ?? {},
      secrets: request.secrets,
    };
    if (request.cleanup !== undefined) body["cleanup"] = request.cleanup;
    if (request.limits !== undefined) body["limits"] = request.limits;
    if (request.idempotencyKey !== undefined) body["idempotencyKey"] = request.idempotencyKey;
    const call = {
      method: "POST",
      path: "/v1/runs",
      body,
      repeat: request.idempotencyKey === undefined ? "once" : "safe",
      secrets,
      signal: request.signal,
    } as const;
    const response = await this.#transport.send(call);
    const run = await this.#decode<Run>(response, secrets);
    return { run, created: response.status === 201, requestId: response.headers.get("x-request-id") ?? undefined };
  }

  /** Reads one run. */
  get(id: string, options: { signal?: AbortSignal } = {}): Promise<Run> {
    return this.#get(`/v1/runs/${enc(id)}`, undefined, options.signal);
  }

  /** One page of the workspace's runs, newest first. */
  listPage(options: ListRunsOptions = {}): Promise<RunPage> {
    const query = { status: options.status, limit: options.limit, cursor: options.cursor };
    return this.#get("/v1/runs", query, options.signal);
  }

  /** Every run matching `options`, newest first, page after page (`for await … of`). */
  list(options: ListRunsOptions = {}): Paged<Run, RunPage> {
    return new Paged(options.cursor, (cursor) => this.listPage({ ...options, cursor }));
  }

  /** One page of a run's events, oldest first. */
  eventsPage(id: string, options: ListEventsOptions = {}): Promise<RunEventPage> {
    const query = { limit: options.limit, cursor: options.cursor };
    return this.#get(`/v1/runs/${enc(id)}/events`, query, options.signal);
  }

  /** Every event of a run so far, oldest first, page after page (`for await … of`). */
  events(id: string, options: ListEventsOptions = {}): Paged<RunEvent, RunEventPage> {
    const limit = options.limit ?? 100;
    return new Paged(options.cursor, (cursor) => this.eventsPage(id, { ...options, limit, cursor }));
  }

  /** The run's captured outputs and the files that could not be captured. */
  outputs(id: string, options: { signal?: AbortSignal } = {}): Promise<RunOutputs> {
    return this.#get(`/v1/runs/${enc(id)}/outputs`, undefined, options.signal);
  }

  /** A signed, expiring download URL of one output (retried: it has no other effect). */
  outputLink(id: string, outputId: string, options: { signal?: AbortSignal } = {}): Promise<SignedLink> {
    const path = `/v1/runs/${enc(id)}/outputs/${enc(outputId)}/link`;
    return this.#transport.json({ method: "POST", path, repeat: "safe", signal: options.signal });
  }

  /**
   * Downloads `output` (an output record, or its id) of run `id` to the file `destination`,
   * streamed and checked against the output's SHA-256; parent folders are created. The file
   * appears only once verified; a corrupt download throws {@link AntpathChecksumError}.
   */
  async download(
    id: string,
    output: Output | string,
    destination: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<DownloadedFile> {
    const record = typeof output === "string" ? await this.#findOutput(id, output, options.signal) : output;
    const link = await this.outputLink(id, record.id ?? "", options);
    return downloadOutput(this.#transport, link.url, record, destination, options.signal);
  }

  /**
   * Downloads every output of run `id` into `directory`, each under its own safe name
   * ({@link localFileNames}), in the order of {@link Runs.outputs}; stops at the first failure.
   */
  async downloadAll(id: string, directory: string, options: { signal?: AbortSignal } = {}): Promise<DownloadedFile[]> {
    const outputs = (await this.outputs(id, options)).outputs ?? [];
    const names = localFileNames(outputs);
    const files: DownloadedFile[] = [];
    for (const [i, output] of outputs.entries()) {
      files.push(await this.download(id, output, join(directory, names[i] ?? "file"), options));
    }
    return files;
  }

  /** Asks for the run to be cancelled (idempotent, so retried); returns the run as it is now. */
  cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<Run> {
    return this.#transport.json({ method: "POST", path: `/v1/runs/${enc(id)}/cancel`, repeat: "safe", signal: options.signal });
  }

  /** Deletes the run (cancelling it first if active) and, after cleanup, its outputs. */
  delete(id: string, options: { signal?: AbortSignal } = {}): Promise<Run> {
    return this.#transport.json({ method: "DELETE", path: `/v1/runs/${enc(id)}`, repeat: "safe", signal: options.signal });
  }

  /** Waits until the run is finished, or its status has been terminal for the cleanup grace. */
  wait(id: string, options: WaitOptions = {}): Promise<Run> {
    return waitForRun(this.#transport, id, options);
  }

  /**
   * The run's status and cleanup changes and new events as they arrive (`for await … of`),
   * ending once it is finished. Uses the server's live stream when it has one, else polls.
   */
  follow(id: string, options: FollowOptions = {}): AsyncGenerator<Progress, void, undefined> {
    return followRun(this.#transport, id, options);
  }

  #get<T>(path: string, query: Record<string, string | number | undefined> | undefined, signal: AbortSignal | undefined): Promise<T> {
    return this.#transport.json({ method: "GET", path, ...(query ? { query } : {}), repeat: "safe", signal });
  }

  async #findOutput(id: string, outputId: string, signal: AbortSignal | undefined): Promise<Output> {
    const outputs = (await this.outputs(id, { ...(signal ? { signal } : {}) })).outputs ?? [];
    const found = outputs.find((o) => o.id === outputId);
    if (found === undefined) {
      throw new AntpathError(`run ${id} has no output ${outputId}`);
    }
    return found;
  }

  #decode<T>(response: Response, secrets: readonly string[]): Promise<T> {
    return decode<T>(response, this.#transport.secrets(secrets));
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
