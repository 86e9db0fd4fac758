// Local names of downloaded outputs: safe, distinct, independent of listing order.
import assert from "node:assert/strict";
import { test } from "node:test";

import { localFileName, localFileNames } from "../../dist/index.js";

const output = (filename, second, id = `out_${second}`) => ({
  id,
  filename,
  created_at: `2025-01-01T00:00:0${second}Z`,
});

test("a name cannot leave the folder or hide control characters", () => {
  assert.equal(localFileName("reports/a.md"), "reports_a.md");
  assert.equal(localFileName("../../etc/passwd"), ".._.._etc_passwd");
  assert.equal(localFileName("C:\\x\\y.txt"), "C:_x_y.txt");
  assert.equal(localFileName("a\u0000b\nc\u202Ed.txt"), "abcd.txt");
  for (const empty of ["", ".", "..", "  \t ", "\u0000"]) assert.equal(localFileName(empty), "file");
});

test("a long name is cut to 200 bytes but keeps its extension", () => {
  const cut = localFileName(`${"é".repeat(300)}.md`);
  assert.ok(Buffer.byteLength(cut) <= 200);
  assert.ok(cut.endsWith("é.md"), cut);
});

test("outputs of one name get numbered names, oldest first", () => {
  const outputs = [output("report.md", 3), output("report.md", 1), output("Report.MD", 2), output(".env", 4), output(".env", 5)];
  assert.deepEqual(localFileNames(outputs), ["report (3).md", "report.md", "Report (2).MD", ".env", ".env (2)"]);
});

test("a name the agent chose wins over a generated one", () => {
  const outputs = [output("a.txt", 1), output("a.txt", 2), output("a (2).txt", 3)];
  assert.deepEqual(localFileNames(outputs), ["a.txt", "a (3).txt", "a (2).txt"]);
});
