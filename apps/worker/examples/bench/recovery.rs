//! Recovery: a worker killed mid-step (aborted in-process: no handback, no renewal, exactly
//! what SIGKILL leaves behind) and a second worker that takes its runs over; the time from the
//! kill to each run's next committed step.
//!
//! The simulator answers slowly (3 s per request) while the first worker provisions, so every
//! run is held under a live lease, inside a step, when it dies; it answers at once afterwards,
//! so the figure is the lease machinery's and not the provider's. Both workers use the
//! production lease (`Limits::default()`: 10 s, renewed at 6 s left) and claim poll (2 s).

use std::time::{Duration, Instant};

use antpath_worker::{Deps, Tuning, WorkerConfig};
use serde_json::json;
use uuid::Uuid;

use crate::setup::{Bench, config, load, sort, summary};

/// Runs held by the killed worker.
const RUNS: usize = 8;

pub async fn run(bench: &Bench, sim_url: &str, deps: &dyn Fn(WorkerConfig) -> Deps, reps: usize) {
    let http = reqwest::Client::new();
    let poll = Tuning::default().claim_poll;
    let (mut claimed_max, mut moved_max) = (Vec::new(), Vec::new());
    for rep in 1..=reps {
        println!("recovery rep={rep} load={}", load());
        bench.clear().await;
        set_latency(&http, sim_url, 3000).await;
        let doomed = antpath_worker::start(deps(config(sim_url, "doomed", RUNS, poll)), None)
            .expect("worker");
        let ids: Vec<Uuid> = bench
            .submit_many(RUNS, "antpath-sim: scenario=forever")
            .await
            .into_iter()
            .map(|id| id.as_uuid())
            .collect();
        // Wait until every run has started its attempt and is inside the (slow) provision step.
        let deadline = Instant::now() + Duration::from_secs(30);
        while held(bench, "doomed").await < RUNS as i64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before: Vec<(Uuid, String, String)> = sqlx::query_as(
            "select id, status, phase from runs where lease_owner = 'doomed'
                 and lease_expires_at > now()",
        )
        .fetch_all(&bench.pool)
        .await
        .expect("held runs");
        doomed.kill();
        let killed = Instant::now();
        set_latency(&http, sim_url, 0).await;
        let heir =
            antpath_worker::start(deps(config(sim_url, "heir", RUNS, poll)), None).expect("worker");
        let mut claimed: Vec<Option<f64>> = vec![None; before.len()];
        let mut moved: Vec<Option<f64>> = vec![None; before.len()];
        let give_up = killed + Duration::from_secs(60);
        while moved.iter().any(Option::is_none) && Instant::now() < give_up {
            for (i, (id, status, phase)) in before.iter().enumerate() {
                let (owner, now_status, now_phase): (Option<String>, String, String) =
                    sqlx::query_as("select lease_owner, status, phase from runs where id = $1")
                        .bind(*id)
                        .fetch_one(&bench.pool)
                        .await
                        .expect("run");
                let at = killed.elapsed().as_secs_f64();
                if claimed[i].is_none() && owner.as_deref() == Some("heir") {
                    claimed[i] = Some(at);
                }
                if moved[i].is_none() && (&now_status, &now_phase) != (status, phase) {
                    moved[i] = Some(at);
                    if claimed[i].is_none() {
                        claimed[i] = Some(at);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        heir.shutdown().await;
        let mut c: Vec<f64> = claimed.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let mut m: Vec<f64> = moved.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        sort(&mut c);
        sort(&mut m);
        println!(
            "recovery rep={rep} runs_held_at_kill={} of {} claimed_again_s min/max={:.2}/{:.2} next_step_committed_s min/max={:.2}/{:.2}",
            before.len(),
            ids.len(),
            c.first().copied().unwrap_or(f64::NAN),
            c.last().copied().unwrap_or(f64::NAN),
            m.first().copied().unwrap_or(f64::NAN),
            m.last().copied().unwrap_or(f64::NAN),
        );
        claimed_max.push(c.last().copied().unwrap_or(f64::NAN));
        moved_max.push(m.last().copied().unwrap_or(f64::NAN));
    }
    println!(
        "recovery summary {}",
        summary("slowest run claimed again (s)", &claimed_max)
    );
    println!(
        "recovery summary {}",
        summary("slowest run's next step committed (s)", &moved_max)
    );
}

async fn held(bench: &Bench, owner: &str) -> i64 {
    sqlx::query_scalar(
        "select count(*) from runs where lease_owner = $1 and lease_expires_at > now()
             and attempt_count > 0",
    )
    .bind(owner)
    .fetch_one(&bench.pool)
    .await
    .expect("held")
}

async fn set_latency(http: &reqwest::Client, sim_url: &str, ms: u64) {
    http.post(format!("{sim_url}/__sim/faults"))
        .json(&json!({"latency_ms": ms, "documented_limits": null}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("set the simulator's latency");
}
