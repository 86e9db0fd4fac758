// graphile-worker's default mode on the bench database (see graphile.rs):
//   node graphile.js <folder with node_modules/graphile-worker> <database url> <jobs>
// Prints `jobs_per_s=<n>`: jobs completed per second from the first job's start to the last
// job's success, with one worker at the library's defaults (concurrency 1, pollInterval 2 s,
// no localQueue, no completeJobBatchDelay: every job is fetched and completed on its own).
const path = require("path");
const gw = require(path.join(process.argv[2], "node_modules", "graphile-worker"));
const connectionString = process.argv[3];
const jobs = Number(process.argv[4] || 4000);

async function main() {
  const utils = await gw.makeWorkerUtils({ connectionString });
  await utils.withPgClient((client) => client.query("drop schema if exists graphile_worker cascade"));
  await utils.migrate();
  await utils.addJobs(Array.from({ length: jobs }, () => ({ identifier: "noop", payload: {} })));
  let done = 0;
  let started = null;
  let finished;
  const allDone = new Promise((resolve) => { finished = resolve; });
  const runner = await gw.run({
    connectionString,
    noHandleSignals: true,
    logger: new gw.Logger(() => () => {}),
    taskList: { noop: async () => {} },
  });
  runner.events.on("job:start", () => { if (started === null) started = process.hrtime.bigint(); });
  runner.events.on("job:success", () => { done += 1; if (done === jobs) finished(); });
  await allDone;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  await utils.release();
  console.log(`jobs_per_s=${(jobs / seconds).toFixed(0)}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
