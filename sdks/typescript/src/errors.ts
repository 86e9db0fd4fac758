/**
 * The SDK's errors, all subclasses of {@link AntpathError}; branch with `instanceof` and, for
 * API failures, on {@link AntpathApiError.type} (never on a message).
 *
 * No error ever holds the API token or a run secret: requests are rebuilt from the client's
 * state on each attempt and never stored in an error, and every message the transport or the
 * server produced is scrubbed of the secrets the call carried before it is kept.
 *
 * @module
 */

/** The error types of the API's error body. */
export type ApiErrorType =
  | "invalid_request"
  | "authentication_error"
  | "permission_denied"
  | "not_found"
  | "conflict"
  | "workspace_deleting"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "internal_error"
  | "service_unavailable";

/** One located problem: a JSON pointer and a sentence. */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** The API's error body: `{"error": {type, message, details?, request_id}}`. */
export interface ApiErrorBody {
  readonly error: {
    readonly type: ApiErrorType;
    readonly message: string;
    readonly details?: readonly ErrorDetail[];
    readonly request_id: string;
  };
}

/** The base class of every error the SDK throws. */
export class AntpathError extends Error {
  override name = "AntpathError";
}

/** The API refused the request and said why in its error body. */
export class AntpathApiError extends AntpathError {
  override name = "AntpathApiError";
  /** The HTTP status. */
  readonly status: number;
  /** The machine-readable kind of failure. */
  readonly type: ApiErrorType;
  /** Every located problem (validation lists them all); possibly empty. */
  readonly details: readonly ErrorDetail[];
  /** The request id, to quote in a support request. */
  readonly requestId: string | undefined;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** The error body exactly as the API sent it. */
  readonly body: ApiErrorBody;

  /** @internal */
  constructor(init: { status: number; body: ApiErrorBody; requestId?: string; retryAfterMs?: number }) {
    const { error } = init.body;
    const requestId = error.request_id || init.requestId;
    const details = error.details ?? [];
    const located = details.map((d) => `; ${d.path === "" ? "/" : d.path}: ${d.message}`).join("");
    const suffix = requestId === undefined ? "" : ` [request id ${requestId}]`;
    super(`${error.message} (${error.type}, HTTP ${init.status})${located}${suffix}`);
    this.status = init.status;
    this.type = error.type;
    this.details = details;
    this.requestId = requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
  }
}

/** The server answered an error status without antpath's error body (a proxy, another server). */
export class AntpathUnexpectedResponseError extends AntpathError {
  override name = "AntpathUnexpectedResponseError";
  readonly status: number;
  readonly requestId: string | undefined;

  /** @internal */
  constructor(status: number, requestId: string | undefined) {
    super(`the server answered HTTP ${status} without an antpath error body${requestSuffix(requestId)}`);
    this.status = status;
    this.requestId = requestId;
  }
}

/** The API could not be reached, or the connection broke. */
export class AntpathConnectionError extends AntpathError {
  override name = "AntpathConnectionError";
  readonly baseUrl: string;
  readonly reason: string;

  /** @internal */
  constructor(baseUrl: string, reason: string) {
    super(`could not reach the antpath API at ${baseUrl}: ${reason}`);
    this.baseUrl = baseUrl;
    this.reason = reason;
  }
}

/** No answer came within the client's time-out for one attempt. */
export class AntpathTimeoutError extends AntpathError {
  override name = "AntpathTimeoutError";
  readonly timeoutMs: number;

  /** @internal */
  constructor(timeoutMs: number) {
    super(`the antpath API did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A successful response did not have the documented shape. */
export class AntpathDecodeError extends AntpathError {
  override name = "AntpathDecodeError";
  readonly requestId: string | undefined;

  /** @internal */
  constructor(reason: string, requestId?: string) {
    super(`the API response could not be read (${reason})${requestSuffix(requestId)}`);
    this.requestId = requestId;
  }
}

/** The client was given an unusable setting. */
export class AntpathConfigError extends AntpathError {
  override name = "AntpathConfigError";

  /** @internal */
  constructor(problem: string) {
    super(`invalid client configuration: ${problem}`);
  }
}

/** A template breaks a rule; every problem is listed with its JSON pointer. */
export class AntpathTemplateError extends AntpathError {
  override name = "AntpathTemplateError";
  readonly problems: readonly ErrorDetail[];

  /** @internal */
  constructor(problems: readonly ErrorDetail[]) {
    const list = problems.map((p) => `${p.path === "" ? "/" : p.path}: ${p.message}`).join("; ");
    super(`the template is invalid: ${list}`);
    this.problems = problems;
  }
}

/** A download did not have the SHA-256 the API reported; nothing was kept. */
export class AntpathChecksumError extends AntpathError {
  override name = "AntpathChecksumError";
  readonly filename: string;
  readonly expected: string;
  readonly actual: string;

  /** @internal */
  constructor(filename: string, expected: string, actual: string) {
    super(`the download of \`${filename}\` is corrupt: expected sha256 ${expected}, got ${actual}`);
    this.filename = filename;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Reading or writing a local file failed. */
export class AntpathIoError extends AntpathError {
  override name = "AntpathIoError";
  readonly path: string;

  /** @internal */
  constructor(path: string, cause: unknown) {
    super(`could not write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.path = path;
  }
}

/** A wait's `timeoutMs` passed before the run ended. */
export class AntpathWaitTimeoutError extends AntpathError {
  override name = "AntpathWaitTimeoutError";
  readonly runId: string;
  readonly waitedMs: number;

  /** @internal */
  constructor(runId: string, waitedMs: number) {
    super(`run ${runId} was still running after ${waitedMs} ms`);
    this.runId = runId;
    this.waitedMs = waitedMs;
  }
}

function requestSuffix(requestId: string | undefined): string {
  return requestId === undefined ? "" : ` (request id ${requestId})`;
}

/** True when `value` has the shape of the API's error body. */
export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  const error = (value as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof error["type"] === "string" &&
    typeof error["message"] === "string"
  );
}
