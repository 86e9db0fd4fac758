/**
 * A reader of `text/event-stream` (Server-Sent Events), fed the body's bytes as they arrive,
 * following the WHATWG rules the run stream needs: lines end in LF, CRLF or CR; a line starting
 * with `:` is a comment (the server's keep-alive); `event`, `data` and `id` fields build a
 * message and a blank line dispatches it; a message without data is not dispatched; `id` is
 * kept across messages and connections as the last event id. Other fields are ignored.
 *
 * @module
 */

/** The longest line or message accepted: far above any run object. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** One dispatched message. */
export interface SseMessage {
  /** The `event` field; `message` when absent. */
  readonly event: string;
  /** The `data` lines joined with `\n`. */
  readonly data: string;
}

/** The reader's state between chunks. */
export class SseReader {
  #decoder = new TextDecoder("utf-8", { fatal: true });
  #line = "";
  #afterCr = false;
  #event = "";
  #data = "";
  #hasData = false;
  #lastEventId: string | undefined;

  /** The last event id received, to send as `Last-Event-ID` when reconnecting. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Forgets a half-received line and message (the connection dropped); keeps the last id. */
  resetConnection(): void {
    this.#decoder = new TextDecoder("utf-8", { fatal: true });
    this.#line = "";
    this.#afterCr = false;
    this.#event = "";
    this.#data = "";
    this.#hasData = false;
  }

  /** Reads `chunk` and returns every message it completes. Throws on text that is not UTF-8. */
  feed(chunk: Uint8Array): SseMessage[] {
    const out: SseMessage[] = [];
    const text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      if (c === 0x0a && this.#afterCr) {
        // The LF of a CRLF: the CR already ended the line.
        this.#afterCr = false;
        start = i + 1;
        continue;
      }
      this.#afterCr = false;
      if (c === 0x0a || c === 0x0d) {
        this.#line += text.slice(start, i);
        start = i + 1;
        this.#endLine(out);
        this.#afterCr = c === 0x0d;
      }
    }
    this.#line += text.slice(start);
    if (this.#line.length > MAX_MESSAGE_BYTES) throw new Error("an event-stream line is too long");
    return out;
  }

  #endLine(out: SseMessage[]): void {
    const line = this.#line;
    this.#line = "";
    if (line === "") {
      if (this.#hasData) out.push({ event: this.#event === "" ? "message" : this.#event, data: this.#data });
      this.#event = "";
      this.#data = "";
      this.#hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.#event = value;
    else if (field === "data") {
      if (this.#data.length + value.length >= MAX_MESSAGE_BYTES) throw new Error("an event-stream message is too long");
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
      this.#hasData = true;
    } else if (field === "id" && !value.includes("\0")) this.#lastEventId = value;
  }
}
