/**
 * antpath for TypeScript: run Claude Managed Agents sessions through the antpath API.
 *
 * ```ts
 * import { AntpathClient, defineTemplate, string } from "antpath";
 *
 * const client = new AntpathClient({ apiToken: process.env.ANTPATH_API_TOKEN! });
 * const template = defineTemplate({
 *   name: "quickstart",
 *   agent: { model: "claude-sonnet-4-5" },
 *   variables: { topic: string({ maxLength: 200 }) },
 *   prompt: "Write two short files about {{topic}}.",
 * });
 * const run = await client.runs.submit({
 *   template,
 *   variables: { topic: "tide pools" },
 *   secrets: { anthropic: { apiKey: process.env.ANTHROPIC_API_KEY! } },
 *   idempotencyKey: "quickstart-1",
 * });
 * const done = await client.runs.wait(run.id!);
 * const files = await client.runs.downloadAll(done.id!, "out");
 * ```
 *
 * @module
 */

export { AntpathClient, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, type AntpathClientOptions } from "./client.js";
export {
  AntpathApiError,
  AntpathChecksumError,
  AntpathConfigError,
  AntpathConnectionError,
  AntpathDecodeError,
  AntpathError,
  AntpathIoError,
  AntpathTemplateError,
  AntpathTimeoutError,
  AntpathUnexpectedResponseError,
  AntpathWaitTimeoutError,
  type ApiErrorBody,
  type ApiErrorType,
  type ErrorDetail,
} from "./errors.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
export {
  Paged,
  Runs,
  type ListEventsOptions,
  type ListRunsOptions,
  type RunSecrets,
  type SubmitRequest,
  type Submitted,
} from "./runs.js";
export type { DownloadedFile } from "./download.js";
export { localFileName, localFileNames } from "./file-names.js";
export { DEFAULT_CLEANUP_GRACE_MS, type WaitOptions } from "./clock.js";
export type { FollowOptions, Progress } from "./follow.js";
export {
  TERMINAL_STATUSES,
  isFinished,
  isTerminal,
  type CleanupState,
  type Output,
  type Run,
  type RunEvent,
  type RunEventPage,
  type RunOutputs,
  type RunPage,
  type RunStatus,
  type RunSubmissionBody,
  type SignedLink,
  type Whoami,
} from "./types.js";
export {
  Template,
  boolean,
  defineTemplate,
  enumOf,
  number,
  requiredStaticBearer,
  string,
  type BooleanOptions,
  type EnumOptions,
  type NumberOptions,
  type StringOptions,
  type VariableSpecs,
  type VariableValue,
  type VariableValues,
} from "./template/define.js";
export { HASH_PREFIX, canonicalJson, contentHash, type JsonValue } from "./template/canonical.js";
export type * from "./template/model.js";
export { VERSION } from "./version.js";
