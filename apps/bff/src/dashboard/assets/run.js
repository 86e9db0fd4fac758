// Live updates of a run page, from the run's event stream (GET /v1/runs/{id}/stream).
//
// The page carries data-stream only while a worker still has work on the run. `run` events
// update the status, phase, cleanup badge and token counts and add a timeline entry when the
// lifecycle moves; `event` events append rows to the events table (deduplicated by seq, so a
// stream that replays from the start is harmless); `end` closes the stream and reloads the page
// once so outputs, attempts and cleanup show as they finally are. A change of cleanup state
// also reloads, so the warning box and outputs are rendered by the server. Each reload happens
// at most once per state (sessionStorage), so a page can never reload in a loop.
//
// Everything is written with textContent and DOM calls: no data is ever parsed as HTML.
"use strict";

(function () {
  var root = document.querySelector(".run[data-stream]");
  if (!root || typeof window.EventSource !== "function") {
    return;
  }
  var runId = root.getAttribute("data-run-id");
  var lastSeq = Number(root.getAttribute("data-last-seq")) || 0;
  var shown = {
    status: root.getAttribute("data-status"),
    phase: root.getAttribute("data-phase"),
    cleanup: root.getAttribute("data-cleanup"),
  };
  var ended = false;
  var reloading = false;

  function words(word) {
    return String(word).replace(/_/g, " ");
  }

  function thousands(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  // The server writes times as "2026-12-01 10:32:05 UTC"; so does this.
  function timeText(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return String(iso);
    }
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function timeElement(iso) {
    var node = element("time", null, timeText(iso));
    node.setAttribute("datetime", String(iso));
    return node;
  }

  function badge(prefix, word) {
    return element("span", "badge " + prefix + String(word), words(word));
  }

  function setChild(id, child) {
    var holder = document.getElementById(id);
    if (holder) {
      holder.replaceChildren(child);
    }
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) {
      node.textContent = text;
    }
  }

  function reload() {
    if (!reloading) {
      reloading = true;
      window.location.reload();
    }
  }

  // Reloads unless this page already reloaded for the same `mark` of the same `kind`: a page
  // that still differs from its stream after reloading (a stale stream, or one that ends
  // while the run still has work) must not reload forever.
  function reloadOnce(kind, mark) {
    var key = "antpath:" + kind + ":" + runId;
    try {
      if (window.sessionStorage.getItem(key) === mark) {
        return;
      }
      window.sessionStorage.setItem(key, mark);
    } catch (err) {
      return;
    }
    reload();
  }

  function appendTimeline(run) {
    var list = document.getElementById("timeline");
    if (!list) {
      return;
    }
    var item = element("li");
    item.append(timeElement(run.updated_at), " ", badge("s-", run.status), " phase ");
    item.append(element("code", null, run.phase));
    item.append(" · cleanup " + words(run.cleanup.state));
    list.appendChild(item);
  }

  function applyRun(run) {
    if (!run || typeof run.status !== "string") {
      return;
    }
    setText("run-input-tokens", thousands(run.usage && run.usage.input_tokens));
    setText("run-output-tokens", thousands(run.usage && run.usage.output_tokens));
    var cleanup = run.cleanup && run.cleanup.state;
    if (run.status === shown.status && run.phase === shown.phase && cleanup === shown.cleanup) {
      return;
    }
    setChild("run-status", badge("s-", run.status));
    setText("run-phase", run.phase);
    setChild("run-cleanup", badge("c-", cleanup));
    appendTimeline(run);
    var cleanupMoved = cleanup !== shown.cleanup;
    shown = { status: run.status, phase: run.phase, cleanup: cleanup };
    if (cleanupMoved) {
      reloadOnce("cleanup", String(cleanup) + "@" + String(run.updated_at));
    }
  }

  function eventTokens(summary) {
    if (!summary || (summary.input_tokens === undefined && summary.output_tokens === undefined)) {
      return "";
    }
    return thousands(summary.input_tokens) + " in / " + thousands(summary.output_tokens) + " out";
  }

  function addEvent(event) {
    if (!event || typeof event.seq !== "number" || event.seq <= lastSeq) {
      return;
    }
    lastSeq = event.seq;
    var body = document.getElementById("events-body");
    if (!body) {
      return;
    }
    var summary = event.summary || {};
    var row = element("tr");
    row.appendChild(element("td", "num", event.seq));
    row.appendChild(element("td", "mono", event.type));
    var when = element("td");
    when.appendChild(timeElement(event.processed_at || event.received_at));
    row.appendChild(when);
    row.appendChild(element("td", "num", event.attempt));
    var tool = element("td");
    if (typeof summary.tool === "string") {
      tool.appendChild(element("code", null, summary.tool));
    }
    row.appendChild(tool);
    row.appendChild(element("td", "num", eventTokens(summary)));
    body.appendChild(row);
    var empty = document.getElementById("events-empty");
    if (empty) {
      empty.hidden = true;
    }
    var table = document.getElementById("events-table");
    if (table) {
      table.hidden = false;
    }
  }

  function parse(message) {
    try {
      return JSON.parse(message.data);
    } catch (err) {
      return null;
    }
  }

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("run", function (message) {
    applyRun(parse(message));
  });
  source.addEventListener("event", function (message) {
    addEvent(parse(message));
  });
  source.addEventListener("end", function (message) {
    ended = true;
    source.close();
    var run = parse(message);
    applyRun(run);
    // Outputs, attempts and cleanup as they finally are, rendered by the server.
    reloadOnce("end", String(run && run.updated_at));
  });
  source.onerror = function () {
    // The browser reconnects by itself (with Last-Event-ID) unless the server refused the
    // stream outright; then fall back to reloading the page now and then.
    if (!ended && source.readyState === EventSource.CLOSED) {
      window.setTimeout(reload, 15000);
    }
  };
})();
