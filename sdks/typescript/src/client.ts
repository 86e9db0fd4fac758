/**
 * {@link AntpathClient}: the entry point. The workspace is the one the API token belongs to.
 *
 * The client holds the token where only the request path reads it: it never appears in
 * `util.inspect`, `JSON.stringify`, `toString` or an error.
 *
 * @module
 */

import { inspect } from "node:util";

import { AntpathConfigError } from "./errors.js";
import { Transport } from "./http.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { Runs } from "./runs.js";
import type { Whoami } from "./types.js";
import { VERSION } from "./version.js";

/** Where the hosted antpath lives; self-hosted deployments set their own. */
export const DEFAULT_BASE_URL = "https://antpath.ai";

/** The time allowed for one HTTP attempt, body included (downloads and streams excepted). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** How to reach the API. */
export interface AntpathClientOptions {
  /** An antpath API token (`ant_…`); the workspace is derived from it on the server. */
  readonly apiToken: string;
  /** The API's base URL, such as `http://127.0.0.1:8080` for a local stack. */
  readonly baseUrl?: string;
  /** The time allowed for one attempt of one request (default 30 s). */
  readonly timeoutMs?: number;
  /** How safe requests are retried (default: 3 retries from 250 ms). */
  readonly retry?: Partial<RetryPolicy>;
  /** A `fetch` to send API requests with (default: the platform's). */
  readonly fetch?: typeof fetch;
  /** A product token appended to the `User-Agent`. */
  readonly userAgentSuffix?: string;
}

/** A client of the antpath API. */
export class AntpathClient {
  /** The run routes. */
  readonly runs: Runs;
  /** The base URL requests go to, without a trailing slash. */
  readonly baseUrl: string;
  readonly #transport: Transport;

  constructor(options: AntpathClientOptions) {
    const token = options?.apiToken;
    if (typeof token !== "string" || token.trim() === "") throw new AntpathConfigError("the API token is empty");
    const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).trim().replace(/\/+$/, "");
    if (!/^https?:\/\//.test(baseUrl) || !URL.canParse(baseUrl)) {
      // The value is not echoed: a token passed in the wrong place must not end up in an error.
      throw new AntpathConfigError("the base URL is not an http(s) URL (it must start with http:// or https://)");
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new AntpathConfigError("the time-out must be a positive number of milliseconds");
    const suffix = options.userAgentSuffix ? ` ${options.userAgentSuffix}` : "";
    this.baseUrl = baseUrl;
    this.#transport = new Transport({
      baseUrl,
      apiToken: token,
      timeoutMs,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      userAgent: `antpath-sdk-typescript/${VERSION} node/${process.versions.node}${suffix}`,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    });
    this.runs = new Runs(this.#transport);
  }

  /** The workspace, token and user the client acts as. */
  whoami(options: { signal?: AbortSignal } = {}): Promise<Whoami> {
    return this.#transport.json({ method: "GET", path: "/v1/whoami", repeat: "safe", signal: options.signal });
  }

  /** @internal */
  [inspect.custom](): string {
    return `AntpathClient { baseUrl: ${JSON.stringify(this.baseUrl)}, apiToken: [redacted] }`;
  }

  /** `JSON.stringify(client)` shows where it points, never the token. */
  toJSON(): { baseUrl: string; apiToken: string } {
    return { baseUrl: this.baseUrl, apiToken: "[redacted]" };
  }

  toString(): string {
    return `AntpathClient(${this.baseUrl})`;
  }
}
