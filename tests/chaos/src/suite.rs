//! One chaos run from start to figures: bring the stack up, submit the plan while the monkey
//! plays, go quiet, let the workers and the sweeper settle everything, then gather the facts
//! and check every invariant.

use std::time::Duration;

use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::Tenant;
use crate::checks::{self, Check, Submitted};
use crate::facts::Facts;
use crate::figures::{Figures, Record};
use crate::model::{self, ENDED_STATUSES, RUNNING_STATUSES};
use crate::monkey::{Dose, Monkey};
use crate::plan::{CANARY_BEARER, CANARY_KEY, DIRECTIVE_MARKER, PlannedRun, plan};
use crate::stack::Stack;

/// Runs in the short form (the normal test command).
pub const DEFAULT_RUNS: usize = 36;

/// How often the harness looks at the run table while waiting.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// How often the chaos loop looks at the run table.
const CHAOS_LOOK_EVERY: Duration = Duration::from_secs(1);

/// Shortest pause between two sweeper passes while the workers are idle.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Longest pause between two sweeper passes while the workers still work (a deployment runs
/// it on a schedule either way).
const SWEEP_AT_LEAST_EVERY: Duration = Duration::from_secs(5);

/// The knobs of one chaos run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs submitted.
    pub runs: usize,
    /// Workspaces (tenants) they are spread over.
    pub workspaces: usize,
    /// Worker replicas.
    pub workers: usize,
    /// Pause between two submissions.
    pub submit_every: Duration,
    /// The chaos.
    pub dose: Dose,
    /// The chaos lasts at least this long…
    pub min_chaos: Duration,
    /// …and at most this long, even if runs are still working.
    pub max_chaos: Duration,
    /// How long the quiet phase may take to settle every run.
    pub settle_deadline: Duration,
}

impl Options {
    /// The short form, or the long one when `ANTPATH_CHAOS_RUNS` asks for more runs;
    /// `ANTPATH_CHAOS_SEED` repeats a run's choices.
    pub fn from_env() -> anyhow::Result<Self> {
        let runs = match std::env::var("ANTPATH_CHAOS_RUNS") {
            Ok(text) => text
                .parse()
                .context("ANTPATH_CHAOS_RUNS must be a number")?,
            Err(_) => DEFAULT_RUNS,
        };
        let seed = match std::env::var("ANTPATH_CHAOS_SEED") {
            Ok(text) => text
                .parse()
                .context("ANTPATH_CHAOS_SEED must be a number")?,
            Err(_) => rand::random::<u32>().into(),
        };
        Ok(Self::sized(runs, seed))
    }

    /// The options for `runs` runs: the short form up to [`DEFAULT_RUNS`], scaled beyond.
    pub fn sized(runs: usize, seed: u64) -> Self {
        let long = runs > DEFAULT_RUNS;
        let secs = |s: u64| Duration::from_secs(s);
        // The long form submits no faster than the stack finishes runs under this chaos (about one a
        // second on two cores), so it measures convergence rather than a growing queue.
        let per_run = Duration::from_millis(if long { 1200 } else { 150 });
        let submitting = per_run * u32::try_from(runs).unwrap_or(u32::MAX);
        Self {
            runs,
            workspaces: if long { 5 } else { 3 },
            workers: if long { 3 } else { 2 },
            submit_every: per_run,
            dose: Dose {
                seed,
                deletes_fail_at: secs(if long { 60 } else { 30 }),
                deletes_fail_for: secs(if long { 20 } else { 8 }),
                outage_at: secs(if long { 15 } else { 6 }),
                outage_for: secs(if long { 5 } else { 3 }),
                kill_every: (secs(4), secs(8)),
                cut_every: (secs(2), secs(5)),
                down_for: (Duration::from_millis(300), Duration::from_millis(1500)),
            },
            min_chaos: secs(if long { 30 } else { 12 }),
            max_chaos: submitting + secs(if long { 180 } else { 55 }),
            settle_deadline: secs(if long { 600 } else { 60 }),
        }
    }
}

/// Runs the suite; the stack and its database are gone when this returns.
pub async fn run(options: &Options) -> anyhow::Result<Figures> {
    let mut stack = Stack::up(options.workers, options.dose.seed).await?;
    let result = chaos_and_check(&mut stack, options).await;
    let down = stack.down().await;
    let figures = result?;
    down?;
    Ok(figures)
}

async fn chaos_and_check(stack: &mut Stack, options: &Options) -> anyhow::Result<Figures> {
    let began = Instant::now();
    let mut tenants = Vec::new();
    for n in 0..options.workspaces {
        tenants.push(stack.tenant(n).await?);
    }
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let mut pending = plan(options.runs, options.workspaces, &salt).into_iter();
    let mut users = JoinSet::new();
    let mut monkey = Monkey::start(stack, options.dose.clone()).await?;
    let chaos_began = Instant::now();
    let mut next_submit = chaos_began;
    let mut next_look = chaos_began;
    let mut submitted_all = false;
    let mut some_ended = false;
    loop {
        let now = Instant::now();
        if !submitted_all && now >= next_submit {
            match pending.next() {
                Some(planned) => {
                    let patience = options.max_chaos + options.settle_deadline;
                    users.spawn(drive(tenants[planned.tenant].clone(), planned, patience));
                    next_submit += options.submit_every;
                }
                None => submitted_all = true,
            }
        }
        if now >= next_look {
            next_look = now + CHAOS_LOOK_EVERY;
            let rows = model::runs(&stack.db.pool).await?;
            some_ended = rows.iter().any(model::RunRow::ended);
            let all_ended = rows.len() >= options.runs && rows.iter().all(model::RunRow::ended);
            let elapsed = chaos_began.elapsed();
            if submitted_all && all_ended && elapsed >= options.min_chaos && monkey.scheduled_done()
            {
                break;
            }
        }
        monkey.tick(stack, some_ended).await?;
        if chaos_began.elapsed() >= options.max_chaos {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let chaos_secs = chaos_began.elapsed().as_secs_f64();
    monkey.calm(stack).await?;

    let quiet_began = Instant::now();
    let mut submitted = Vec::new();
    while let Some(done) = users.join_next().await {
        submitted.push(done.context("a user task panicked")?);
    }
    submitted.sort_by_key(|s| s.planned.index);
    let sweeps = settle(stack, options.settle_deadline).await?;
    let settle_secs = quiet_began.elapsed().as_secs_f64();

    let mut facts = Facts::gather(&stack.db.pool, &stack.storage_root()).await?;
    facts.sim_resources = stack.sim.resources().await?;
    facts.sim_calls = stack.sim.calls().await?;
    stack.stop().await?;
    let mut texts = crate::process::read_logs(&stack.logs())?;
    let dump = stack.db.dump()?;
    texts.push((checks::DUMP.to_owned(), dump));

    let mut figures = Figures {
        checks: checks::all(&submitted, &facts),
        ..Figures::default()
    };
    figures.checks.push(checks::canary(
        &texts,
        &[CANARY_KEY, CANARY_BEARER],
        DIRECTIVE_MARKER,
    ));
    figures.checks.push(user_actions(&submitted));
    figures.tally_scenarios(&submitted, &facts);
    figures.record(&Record {
        options,
        facts: &facts,
        submitted: submitted.iter().filter(|s| s.id.is_some()).count(),
        tally: monkey.tally,
        proxy: stack.proxy.stats(),
        worker_starts: stack.workers.iter().map(|w| w.starts).sum(),
        sweeps,
        chaos_secs,
        settle_secs,
        wall_secs: began.elapsed().as_secs_f64(),
    });
    Ok(figures)
}

/// What one simulated user does with one planned run: submit it, then cancel it mid-run or
/// delete it once it ended if the scenario says so.
async fn drive(tenant: Tenant, planned: PlannedRun, patience: Duration) -> Submitted {
    let mut problems = Vec::new();
    let id = match tenant.submit(&planned.body()).await {
        Ok(id) => Some(id),
        Err(err) => {
            problems.push(format!("#{} submit: {err:#}", planned.index));
            None
        }
    };
    if let Some(id) = &id {
        let scenario = planned.scenario;
        let action = if scenario.cancelled_by_user() {
            let wanted: Vec<&str> = RUNNING_STATUSES
                .iter()
                .chain(&ENDED_STATUSES)
                .copied()
                .collect();
            wait_for_status(&tenant, id, &wanted, Duration::from_secs(30)).await;
            tenant
                .cancel(id)
                .await
                .map_err(|e| format!("{id} cancel: {e:#}"))
        } else if scenario.deleted_by_user() {
            if wait_for_status(&tenant, id, &ENDED_STATUSES, patience).await {
                tenant
                    .delete(id)
                    .await
                    .map_err(|e| format!("{id} delete: {e:#}"))
            } else {
                Err(format!("{id} never ended, so it was never deleted"))
            }
        } else {
            Ok(())
        };
        problems.extend(action.err());
    }
    Submitted {
        planned,
        id,
        problems,
    }
}

/// Polls the run through the API until its status is one of `wanted`; `false` after `patience`.
async fn wait_for_status(tenant: &Tenant, id: &str, wanted: &[&str], patience: Duration) -> bool {
    let until = Instant::now() + patience;
    while Instant::now() < until {
        if let Ok(run) = tenant.run(id).await
            && run["status"].as_str().is_some_and(|s| wanted.contains(&s))
        {
            return true;
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
    false
}

/// Quiet phase: waits until every run is settled, running a sweeper pass whenever the workers
/// have nothing left to do (and at least once). Returns the passes run.
async fn settle(stack: &Stack, deadline: Duration) -> anyhow::Result<u32> {
    let until = Instant::now() + deadline;
    let mut sweeps = 0;
    let mut last_sweep: Option<Instant> = None;
    loop {
        let rows = model::runs(&stack.db.pool).await?;
        if sweeps > 0 && rows.iter().all(model::RunRow::settled) {
            return Ok(sweeps);
        }
        if Instant::now() >= until {
            return Ok(sweeps);
        }
        let idle = rows.iter().all(model::RunRow::is_done);
        let since = last_sweep.map_or(Duration::MAX, |at| at.elapsed());
        if (idle && since >= SWEEP_EVERY) || since >= SWEEP_AT_LEAST_EVERY {
            stack.sweep().await?;
            sweeps += 1;
            last_sweep = Some(Instant::now());
            continue;
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// The harness's own calls as a check: every submit, cancel and delete must go through.
fn user_actions(submitted: &[Submitted]) -> Check {
    Check::from_offenders(
        "every submit, cancel and delete went through the API",
        submitted
            .iter()
            .flat_map(|s| s.problems.iter().cloned())
            .collect(),
    )
}
