/**
 * Downloading an output to a file: streamed, verified, atomic.
 *
 * The signed link is fetched **without** the API token: the signature is the permission, and
 * the link may point at another host (object storage), which must never see the token. Bytes
 * are hashed as they arrive and compared with the output's `sha256`. The data goes to
 * `<destination>.antpath-partial`, which is renamed into place only after the digest matched
 * and the data was flushed to disk, so the destination is absent, the old file, or the
 * complete verified new one.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

import { AntpathChecksumError, AntpathError, AntpathIoError } from "./errors.js";
import { errorFromResponse, type Transport } from "./http.js";
import type { Output } from "./types.js";

/** A verified file on disk. */
export interface DownloadedFile {
  /** Where it was written. */
  readonly path: string;
  /** Its size in bytes. */
  readonly sizeBytes: number;
  /** Its lowercase hex SHA-256 (equal to the output's). */
  readonly sha256: string;
}

/** The suffix of a download that is not verified yet. */
const PARTIAL_SUFFIX = ".antpath-partial";

/** Fetches `url` (a signed link of `output`) into `destination`, verified. */
export async function downloadOutput(
  transport: Transport,
  url: string,
  output: Output,
  destination: string,
  signal: AbortSignal | undefined,
): Promise<DownloadedFile> {
  const expected = (output.sha256 ?? "").toLowerCase();
  const filename = output.filename ?? output.id ?? "output";
  let response: Response;
  try {
    // No token: the signature is the permission. No overall time-out: large files take long.
    response = await fetch(url, { ...(signal ? { signal } : {}) });
  } catch (caught) {
    if (signal?.aborted) throw signal.reason;
    throw transport.transportError(caught, {});
  }
  if (!response.ok || response.body === null) throw await errorFromResponse(response, transport.secrets());

  const partial = `${destination}${PARTIAL_SUFFIX}`;
  const hash = createHash("sha256");
  let sizeBytes = 0;
  try {
    await mkdir(dirname(destination), { recursive: true });
    const file = await open(partial, "w");
    try {
      // Each write is awaited before the next chunk is read: the disk sets the pace.
      for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        sizeBytes += bytes.length;
        await file.write(bytes);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    const actual = hash.digest("hex");
    if (actual !== expected) throw new AntpathChecksumError(filename, expected, actual);
    await rename(partial, destination);
  } catch (caught) {
    // Best effort: the partial file may not exist when the folder could not be made.
    await rm(partial, { force: true }).catch(() => undefined);
    if (caught instanceof AntpathError || signal?.aborted) throw caught;
    if (isFileSystemError(caught)) throw new AntpathIoError(destination, caught);
    throw transport.transportError(caught, {});
  }
  return { path: destination, sizeBytes, sha256: expected };
}

function isFileSystemError(caught: unknown): boolean {
  const code = (caught as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) && !["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE"].includes(code);
}
