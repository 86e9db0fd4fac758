//! The scale proof (`scripts/scale-test`): two bff replicas behind nginx, several worker
//! processes, the sweeper looping, the simulator with latency and its documented per-key rate
//! limits; N runs submitted through the SDK (idempotency keys, the SDK's default retries) over
//! many workspaces, one of which submits half; a rolling deploy while it runs (each bff
//! restarted, two workers SIGTERMed and restarted); then the chaos suite's invariants and the
//! figures of `docs/benchmarks.md` ("Scale proof").
//!
//! ```text
//! cargo run -p antpath-chaos --example scale -- --runs 500 --nginx /usr/sbin/nginx
//! ```

mod measure;
mod stack;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use antpath_chaos::checks::{self, Submitted};
use antpath_chaos::facts::Facts;
use antpath_chaos::model;
use antpath_chaos::plan::{PlannedRun, Scenario};
use antpath_chaos::process::Service;
use antpath_chaos::stack::bootstrap_tenant;
use antpath_sdk::{Client, RunRequest};
use anyhow::Context as _;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::measure::{Load, Sampler};
use crate::stack::{Stack, StackOptions};

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    runs: usize,
    workspaces: usize,
    submit_rate: f64,
    submitters: usize,
    settle_minutes: u64,
    /// Provider keys (organisations) the big workspace spreads its runs over.
    big_keys: usize,
    stack: StackOptions,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        runs: 10_000,
        workspaces: 50,
        submit_rate: 20.0,
        submitters: 16,
        settle_minutes: 60,
        big_keys: 10,
        stack: StackOptions {
            workers: 4,
            worker_concurrency: 32,
            latency_ms: 50,
            latency_jitter_ms: 250,
            nginx: "/usr/sbin/nginx".into(),
            active_cap: 0,
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => out.runs = value()?.parse()?,
            "--workspaces" => out.workspaces = value()?.parse()?,
            "--submit-rate" => out.submit_rate = value()?.parse()?,
            "--submitters" => out.submitters = value()?.parse()?,
            "--settle-minutes" => out.settle_minutes = value()?.parse()?,
            "--workers" => out.stack.workers = value()?.parse()?,
            "--worker-concurrency" => out.stack.worker_concurrency = value()?.parse()?,
            "--latency-ms" => out.stack.latency_ms = value()?.parse()?,
            "--latency-jitter-ms" => out.stack.latency_jitter_ms = value()?.parse()?,
            "--big-keys" => out.big_keys = value()?.parse()?,
            "--nginx" => out.stack.nginx = value()?.into(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(out.workspaces >= 2, "--workspaces must be at least 2");
    anyhow::ensure!(out.stack.workers >= 2, "--workers must be at least 2");
    anyhow::ensure!(out.submit_rate > 0.0, "--submit-rate must be positive");
    anyhow::ensure!(out.big_keys >= 1, "--big-keys must be at least 1");
    out.stack.active_cap = out.runs.max(1);
    Ok(out)
}

/// One tenant: its SDK client (through nginx) and its own provider keys (one organisation
/// each; the documented limits apply per key).
#[derive(Debug, Clone)]
struct Tenant {
    client: Client,
    api_keys: Vec<String>,
}

impl Tenant {
    /// The key of the tenant's `n`th run: its runs take the keys in turn.
    fn key_for(&self, n: usize) -> &str {
        &self.api_keys[n % self.api_keys.len()]
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    eprintln!(
        "scale: {} runs over {} workspaces (the big one on {} keys), {} workers, sim latency \
         {}–{} ms, {} submissions/s",
        args.runs,
        args.workspaces,
        args.big_keys,
        args.stack.workers,
        args.stack.latency_ms,
        args.stack.latency_ms + args.stack.latency_jitter_ms,
        args.submit_rate
    );
    let mut stack = Stack::up(&args.stack).await?;
    let result = scale(&mut stack, &args).await;
    let down = stack.down().await;
    let report = result?;
    down?;
    println!("{report}");
    Ok(())
}

async fn scale(stack: &mut Stack, args: &Args) -> anyhow::Result<String> {
    let wall = Instant::now();
    let mut tenants = Vec::new();
    for n in 0..args.workspaces {
        let keys = if n == 0 { args.big_keys } else { 1 };
        tenants.push(tenant(&stack.bffs[0].0, &stack.api_url, n, keys).await?);
    }
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let plan: Vec<PlannedRun> = (0..args.runs)
        .map(|index| PlannedRun {
            index,
            scenario: Scenario::Happy,
            // Workspace 0 submits every other run: half of them.
            tenant: if index % 2 == 0 {
                0
            } else {
                1 + (index / 2) % (args.workspaces - 1)
            },
            idempotency_key: format!("scale-{salt}-{index}"),
        })
        .collect();
    let sampler = Sampler::start(&stack.db).await?;
    let load = Arc::new(Load::default());

    let began = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let plan = Arc::new(plan);
    let submitted = Arc::new(Mutex::new(Vec::new()));
    let mut users = tokio::task::JoinSet::new();
    for _ in 0..args.submitters {
        let (next, plan, tenants, load, submitted) = (
            Arc::clone(&next),
            Arc::clone(&plan),
            tenants.clone(),
            Arc::clone(&load),
            Arc::clone(&submitted),
        );
        let rate = args.submit_rate;
        users.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(planned) = plan.get(index).cloned() else {
                    return;
                };
                tokio::time::sleep_until(began + Duration::from_secs_f64(index as f64 / rate))
                    .await;
                let outcome = submit(&tenants[planned.tenant], &planned, &load).await;
                submitted.lock().await.push(outcome);
            }
        });
    }
    let reader = tokio::spawn(read_loop(
        tenants.clone(),
        Arc::clone(&submitted),
        Arc::clone(&load),
    ));

    // The rolling deploy, spread over the submission window.
    let window = Duration::from_secs_f64(args.runs as f64 / args.submit_rate);
    let mut deploy = Vec::new();
    for (step, at) in [0.2, 0.35, 0.5, 0.65].into_iter().enumerate() {
        tokio::time::sleep_until(began + window.mul_f64(at)).await;
        let from = load.snapshot();
        let (what, took) = match step {
            0 | 1 => (format!("bff-{}", step + 1), stack.restart_bff(step).await?),
            _ => {
                let n = step - 2;
                let (took, killed) = stack.restart_worker(n).await?;
                let how = if killed {
                    "SIGTERM, SIGKILLed after the grace"
                } else {
                    "SIGTERM, exited by itself"
                };
                (format!("worker-{} ({how})", n + 1), took)
            }
        };
        deploy.push((what, took, load.snapshot().since(&from)));
    }
    while let Some(done) = users.join_next().await {
        done.context("a submitter panicked")?;
    }
    let submit_secs = began.elapsed().as_secs_f64();
    reader.abort();
    eprintln!(
        "scale: {} submissions in {submit_secs:.1} s; waiting for the runs to settle",
        args.runs
    );

    let deadline = Instant::now() + Duration::from_secs(args.settle_minutes * 60);
    loop {
        let rows = model::runs(&stack.db.pool).await?;
        sampler.count_own_query();
        let settled = rows.iter().filter(|r| r.settled()).count();
        if rows.len() >= args.runs && settled == rows.len() {
            break;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "scale: settle deadline reached with {settled}/{} settled",
                rows.len()
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let settle_secs = began.elapsed().as_secs_f64();
    stack.stop_services().await?;
    let pg = sampler.finish(&stack.db).await?;

    let mut submitted = std::mem::take(&mut *submitted.lock().await);
    submitted.sort_by_key(|s: &Submitted| s.planned.index);
    let mut facts = Facts::gather(&stack.db.pool, &stack.storage_root()).await?;
    let sim = antpath_chaos::api::SimControl::new(stack.http.clone(), &stack.sim_url);
    facts.sim_resources = sim.resources().await?;
    facts.sim_calls = sim.calls().await?;
    let mut invariants = checks::all(&submitted, &facts);
    invariants.push(measure::double_prompts(&facts));
    let timing = measure::timing(&stack.db.pool).await?;
    Ok(measure::render(&measure::Report {
        runs: args.runs,
        workspaces: args.workspaces,
        workers: args.stack.workers,
        worker_concurrency: args.stack.worker_concurrency,
        latency_ms: args.stack.latency_ms,
        latency_jitter_ms: args.stack.latency_jitter_ms,
        big_keys: args.big_keys,
        submit_rate: args.submit_rate,
        submit_secs,
        settle_secs,
        wall_secs: wall.elapsed().as_secs_f64(),
        load: load.snapshot(),
        deploy,
        timing,
        pg,
        invariants,
        provider_calls: facts.sim_calls.len(),
        throttled: facts
            .sim_calls
            .iter()
            .filter(|c| c["status"] == 429)
            .count(),
    }))
}

/// One submission through the SDK; its latency (retries included) and outcome go to `load`.
async fn submit(tenant: &Tenant, planned: &PlannedRun, load: &Load) -> Submitted {
    let template = json!({
        "name": "scale-happy",
        "agent": {
            "model": "claude-sonnet-4-5",
            "tools": [{"type": "agent_toolset_20260401", "defaultConfig": {"permissionPolicy": "always_allow"}}],
        },
        "prompt": format!("Scale run {}.\n\nantpath-sim: scenario=happy files=2 size=700", planned.index),
        "limits": {"maxDurationSeconds": 3600},
    });
    let request = RunRequest::from_template_document(template)
        .anthropic_api_key(tenant.key_for(planned.index / 2).to_owned())
        .idempotency_key(planned.idempotency_key.clone());
    let at = Instant::now();
    let answer = tenant.client.submit(&request).await;
    load.submitted(at.elapsed(), answer.is_ok());
    let (id, problems) = match answer {
        Ok(run) => (Some(run.id.to_string()), Vec::new()),
        Err(err) => (None, vec![format!("#{} submit: {err}", planned.index)]),
    };
    Submitted {
        planned: planned.clone(),
        id,
        problems,
    }
}

/// Reads a recently submitted run through nginx about ten times a second, so the rolling
/// restarts meet reads as well as submissions.
async fn read_loop(tenants: Vec<Tenant>, submitted: Arc<Mutex<Vec<Submitted>>>, load: Arc<Load>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let last = submitted
            .lock()
            .await
            .last()
            .and_then(|s| Some((s.planned.tenant, s.id.clone()?)));
        let Some((tenant, id)) = last else { continue };
        let Ok(id) = id.parse() else { continue };
        let ok = tenants[tenant].client.get_run(id).await.is_ok();
        load.read(ok);
    }
}

/// Creates workspace `n` with an owner and a `runs:read,runs:write` token (the bff's admin
/// commands), and its SDK client through nginx.
async fn tenant(bff: &Service, api_url: &str, n: usize, keys: usize) -> anyhow::Result<Tenant> {
    let (_workspace, token) = bootstrap_tenant(bff, &format!("scale-{n}")).await?;
    let client = Client::builder(token).base_url(api_url).build()?;
    Ok(Tenant {
        client,
        // Each tenant brings its own provider keys, so the documented limits apply per key.
        api_keys: (0..keys)
            .map(|k| format!("sk-ant-scale-{n}-{k}-{}", uuid::Uuid::new_v4().simple()))
            .collect(),
    })
}
