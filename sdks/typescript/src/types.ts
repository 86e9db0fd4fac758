/**
 * The request and response types of the API, taken from the types generated from
 * `docs/openapi.json` (`npm run generate` writes `generated/openapi.ts`). Each is named after
 * the operation that returns it, so a change of the document shows up here as a type error.
 *
 * @module
 */

import type { operations } from "./generated/openapi.js";

/** The JSON body of response `S` of operation `O`. */
type ResponseJson<O extends keyof operations, S extends keyof operations[O]["responses"]> =
  operations[O]["responses"][S] extends { content: { "application/json": infer T } } ? T : never;

/** The JSON body of operation `O`'s request. */
type RequestJson<O extends keyof operations> = operations[O] extends {
  requestBody: { content: { "application/json": infer T } };
}
  ? T
  : never;

/** A run, as `GET /v1/runs/{id}` returns it. */
export type Run = ResponseJson<"getRun", 200>;
/** A run's status: where its work is and, once terminal, its outcome. */
export type RunStatus = NonNullable<Run["status"]>;
/** A run's cleanup state. */
export type CleanupState = NonNullable<Run["cleanup"]>["state"];
/** One page of `GET /v1/runs`. */
export type RunPage = ResponseJson<"listRuns", 200>;
/** One page of `GET /v1/runs/{id}/events`. */
export type RunEventPage = ResponseJson<"listRunEvents", 200>;
/** One stored event of a run: metadata only, never message text or tool payloads. */
export type RunEvent = RunEventPage["data"][number];
/** `GET /v1/runs/{id}/outputs`: the captured files and those that could not be captured. */
export type RunOutputs = ResponseJson<"listRunOutputs", 200>;
/** A captured output file. */
export type Output = NonNullable<RunOutputs["outputs"]>[number];
/** A signed, expiring download URL: it is the permission, so do not log it. */
export type SignedLink = ResponseJson<"createOutputLink", 200>;
/** `GET /v1/whoami`: the workspace, token and user the client acts as. */
export type Whoami = ResponseJson<"whoami", 200>;
/** The wire body of `POST /v1/runs` (camelCase). */
export type RunSubmissionBody = RequestJson<"createRun">;

/** The statuses in which a run's work is over and its outcome known. */
export const TERMINAL_STATUSES: readonly RunStatus[] = Object.freeze([
  "succeeded",
  "failed",
  "timed_out",
  "cancelled",
  "pending_delete",
  "deleted",
]);

/** True once the run's work is over (cleanup and deletion may still follow). */
export function isTerminal(status: RunStatus | undefined): boolean {
  return status !== undefined && TERMINAL_STATUSES.includes(status);
}

/**
 * True when nothing more is expected to change soon: the status is terminal and cleanup is no
 * longer `pending` or `running` (it may still be `retrying` in the background, or `abandoned`).
 */
export function isFinished(run: Run): boolean {
  const state = run.cleanup?.state;
  return isTerminal(run.status) && state !== "pending" && state !== "running";
}
