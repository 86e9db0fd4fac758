// The event-stream reader: chunk boundaries, line endings, comments and the last event id.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SseReader } from "../../dist/sse.js";

const bytes = (text) => new TextEncoder().encode(text);

function read(chunks) {
  const reader = new SseReader();
  const messages = chunks.flatMap((chunk) => reader.feed(chunk));
  return { messages, lastId: reader.lastEventId };
}

test("messages split anywhere across chunks read the same", () => {
  const text = bytes('event: run\ndata: {"a":1}\n\n: keep-alive\n\nevent: event\nid: 7\ndata: x\n\n');
  const whole = read([text]);
  assert.deepEqual(whole, {
    messages: [
      { event: "run", data: '{"a":1}' },
      { event: "event", data: "x" },
    ],
    lastId: "7",
  });
  for (let cut = 1; cut < text.length; cut += 1) {
    assert.deepEqual(read([text.subarray(0, cut), text.subarray(cut)]), whole, `cut at ${cut}`);
  }
});

test("every line ending and multi-line data are understood, CRLF split across chunks too", () => {
  assert.deepEqual(read([bytes("data: a\r\ndata:b\rdata:  c\n\r\n")]).messages, [{ event: "message", data: "a\nb\n c" }]);
  assert.deepEqual(read([bytes("data: a\r"), bytes("\n\r"), bytes("\n")]).messages, [{ event: "message", data: "a" }]);
});

test("a multi-byte character split across chunks survives", () => {
  const text = bytes("data: é😀\n\n");
  for (let cut = 1; cut < text.length; cut += 1) {
    assert.deepEqual(read([text.subarray(0, cut), text.subarray(cut)]).messages, [{ event: "message", data: "é😀" }]);
  }
});

test("a dropped connection forgets the half message but not the last id", () => {
  const reader = new SseReader();
  const first = reader.feed(bytes("id: 5\nevent: event\ndata: 1\n\nevent: event\ndata: half"));
  reader.resetConnection();
  const second = reader.feed(bytes("data: fresh\n\n"));
  assert.deepEqual([...first, ...second], [
    { event: "event", data: "1" },
    { event: "message", data: "fresh" },
  ]);
  assert.equal(reader.lastEventId, "5");
});
