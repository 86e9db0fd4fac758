//! The chaos itself: the simulator's fault mix, a window in which every provider delete and
//! archive fails, worker replicas SIGKILLed and restarted at random, database connections
//! terminated, and one database outage. Driven tick by tick from a seeded generator, so the
//! same seed plays the same sequence of actions.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::stack::Stack;

/// How the chaos is dosed.
#[derive(Debug, Clone)]
pub struct Dose {
    /// Seed of the simulator's faults and of the monkey's choices.
    pub seed: u64,
    /// Every provider delete and archive starts failing when the first run has ended (so
    /// cleanups meet the window), or this long after the start, whichever comes first.
    pub deletes_fail_at: Duration,
    /// For how long they fail.
    pub deletes_fail_for: Duration,
    /// When the database outage starts.
    pub outage_at: Duration,
    /// How long it lasts.
    pub outage_for: Duration,
    /// Shortest and longest pause between two worker kills.
    pub kill_every: (Duration, Duration),
    /// Shortest and longest pause between two cuts of the database connections.
    pub cut_every: (Duration, Duration),
    /// Shortest and longest time a killed worker stays down.
    pub down_for: (Duration, Duration),
}

/// What the monkey did, for the figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Worker processes SIGKILLed.
    pub worker_kills: u32,
    /// Rounds of `pg_terminate_backend` on the services' connections.
    pub terminate_rounds: u32,
    /// Backends those rounds terminated.
    pub backends_terminated: u64,
    /// Times the proxy cut every connection.
    pub proxy_severs: u32,
    /// Database outages played.
    pub outages: u32,
}

/// The fault mix of the simulator while the chaos lasts; `rules` are timed `fail_next` rules.
pub fn provider_faults(seed: u64, rules: &[Value]) -> Value {
    json!({
        "seed": seed,
        "rate_429": 0.01,
        "rate_500": 0.02,
        "rate_529": 0.01,
        "drop_rate": 0.01,
        "lost_response_rate": 0.02,
        "retry_after_secs": 1,
        "latency_ms": 2,
        "fail_next": rules,
    })
}

/// Every provider delete and archive fails with a 500 for `window`.
pub fn deletes_fail(window: Duration) -> Vec<Value> {
    let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    vec![
        json!({"for_ms": ms, "method": "DELETE", "path_prefix": "/v1/", "fault": "server_error"}),
        json!({"for_ms": ms, "method": "POST", "path_prefix": "/v1/", "path_suffix": "/archive", "fault": "server_error"}),
    ]
}

/// The monkey's state between ticks.
#[derive(Debug)]
pub struct Monkey {
    dose: Dose,
    rng: StdRng,
    started: Instant,
    next_kill: Instant,
    next_cut: Instant,
    /// Killed workers and when they come back.
    restarts: Vec<(Instant, usize)>,
    /// When the provider's deletes started failing.
    deletes_failing_since: Option<Instant>,
    outage_done: bool,
    /// What it did.
    pub tally: Tally,
}

impl Monkey {
    /// Starts the fault mix on the simulator.
    pub async fn start(stack: &Stack, dose: Dose) -> anyhow::Result<Self> {
        stack
            .sim
            .set_faults(&provider_faults(dose.seed, &[]))
            .await?;
        let now = Instant::now();
        Ok(Self {
            rng: StdRng::seed_from_u64(dose.seed),
            next_kill: now + dose.kill_every.0,
            next_cut: now + dose.cut_every.0,
            started: now,
            dose,
            restarts: Vec::new(),
            deletes_failing_since: None,
            outage_done: false,
            tally: Tally::default(),
        })
    }

    /// Whether every scheduled event has happened: the delete window is over and the outage
    /// was played.
    pub fn scheduled_done(&self) -> bool {
        let window_over = self
            .deletes_failing_since
            .is_some_and(|since| since.elapsed() >= self.dose.deletes_fail_for);
        window_over && self.outage_done
    }

    /// Does whatever is due now; `runs_ended` says whether some run has ended yet. The outage
    /// is played inline: nothing else happens during it.
    pub async fn tick(&mut self, stack: &mut Stack, runs_ended: bool) -> anyhow::Result<()> {
        let now = Instant::now();
        let elapsed = now - self.started;
        let mut back = Vec::new();
        self.restarts.retain(|(at, worker)| {
            let due = *at <= now;
            if due {
                back.push(*worker);
            }
            !due
        });
        for worker in back {
            stack.workers[worker].start()?;
        }
        if self.deletes_failing_since.is_none()
            && (runs_ended || elapsed >= self.dose.deletes_fail_at)
        {
            self.deletes_failing_since = Some(now);
            let rules = deletes_fail(self.dose.deletes_fail_for);
            stack
                .sim
                .set_faults(&provider_faults(self.dose.seed + 1, &rules))
                .await?;
        }
        if !self.outage_done && elapsed >= self.dose.outage_at {
            self.outage_done = true;
            self.tally.outages += 1;
            stack.proxy.outage(self.dose.outage_for).await;
        }
        if now >= self.next_kill {
            self.kill_one(stack).await?;
            let (low, high) = self.dose.kill_every;
            self.next_kill = Instant::now() + self.rng.gen_range(low..=high);
        }
        if now >= self.next_cut {
            self.cut(stack).await?;
            let (low, high) = self.dose.cut_every;
            self.next_cut = Instant::now() + self.rng.gen_range(low..=high);
        }
        Ok(())
    }

    /// SIGKILLs a random worker that is up and schedules its restart.
    async fn kill_one(&mut self, stack: &mut Stack) -> anyhow::Result<()> {
        let alive: Vec<usize> = (0..stack.workers.len())
            .filter(|&n| !self.restarts.iter().any(|(_, w)| *w == n))
            .collect();
        if alive.is_empty() {
            return Ok(());
        }
        let victim = alive[self.rng.gen_range(0..alive.len())];
        stack.workers[victim].kill().await?;
        self.tally.worker_kills += 1;
        let (low, high) = self.dose.down_for;
        self.restarts
            .push((Instant::now() + self.rng.gen_range(low..=high), victim));
        Ok(())
    }

    /// Cuts the services' database connections: half the time with `pg_terminate_backend`,
    /// else at the proxy.
    async fn cut(&mut self, stack: &mut Stack) -> anyhow::Result<()> {
        if self.rng.gen_bool(0.5) {
            self.tally.terminate_rounds += 1;
            self.tally.backends_terminated += stack.db.terminate_service_backends().await?;
        } else {
            self.tally.proxy_severs += 1;
            stack.proxy.sever_all();
        }
        Ok(())
    }

    /// Ends the chaos: faults off, every worker back up.
    pub async fn calm(&mut self, stack: &mut Stack) -> anyhow::Result<()> {
        stack.sim.set_faults(&json!({})).await?;
        self.restarts.clear();
        for worker in &mut stack.workers {
            worker.start()?;
        }
        Ok(())
    }
}
