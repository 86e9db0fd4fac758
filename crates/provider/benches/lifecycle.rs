//! Throughput benchmark: 1,000 concurrent simulated session lifecycles through the client.
//!
//! The simulator runs in-process on its own runtime with zero latency; the client runs on a
//! second runtime whose threads are recorded at start, so that their CPU time (read from
//! `/proc/self/task/<tid>/stat`) is the client's alone. Each lifecycle creates an environment,
//! an agent and a session, sends a message, polls until idle, reads the events, lists and
//! downloads the output file, then deletes the session and environment and archives the agent.
//!
//! Run with `cargo bench -p antpath-provider --bench lifecycle`; `LIFECYCLES=N` overrides the
//! count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use antpath_provider::types::agent::CreateAgent;
use antpath_provider::types::environment::CreateEnvironment;
use antpath_provider::types::event::EventCursor;
use antpath_provider::types::session::{CreateSession, SessionStatus};
use antpath_provider::{ClientConfig, ProviderClient, RetryPolicy};
use antpath_redact::Secret;

/// Lifecycles driven at once, unless `LIFECYCLES` says otherwise.
const DEFAULT_LIFECYCLES: usize = 1_000;

/// Pause between two status polls of one session; keeps polling from starving the simulator.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Linux reports thread CPU time in clock ticks of 1/100 s (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    let lifecycles = std::env::var("LIFECYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_LIFECYCLES);

    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("simulator runtime");
    let sim = sim_runtime
        .block_on(antpath_sim::spawn(antpath_sim::SimConfig {
            step_delay: Duration::ZERO,
            // The bench measures the client, not the provider's documented rate limits.
            faults: antpath_sim::FaultConfig {
                documented_limits: None,
                ..antpath_sim::FaultConfig::default()
            },
            ..antpath_sim::SimConfig::default()
        }))
        .expect("simulator starts");

    let client_threads = Arc::new(Mutex::new(Vec::<u32>::new()));
    let recorded = client_threads.clone();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .on_thread_start(move || {
            if let Some(tid) = current_tid() {
                recorded.lock().expect("tid list").push(tid);
            }
        })
        .build()
        .expect("client runtime");

    let config = ClientConfig::new(Secret::new("sk-ant-bench-key".to_owned()))
        .with_base_url(sim.base_url())
        .with_retry(RetryPolicy::fast(5));
    let client = ProviderClient::new(config).expect("client");
    let requests = Arc::new(AtomicU64::new(0));

    let started = Instant::now();
    let failures = client_runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..lifecycles {
            let client = client.clone();
            let requests = requests.clone();
            tasks.spawn(async move { lifecycle(&client, n, &requests).await });
        }
        let mut failures = 0;
        while let Some(result) = tasks.join_next().await {
            if let Err(e) | Ok(Err(e)) = result.map_err(|e| e.to_string()) {
                failures += 1;
                if failures <= 5 {
                    eprintln!("lifecycle failed: {e}");
                }
            }
        }
        failures
    });
    let elapsed = started.elapsed();
    let cpu = client_threads
        .lock()
        .expect("tid list")
        .iter()
        .filter_map(|t| thread_cpu(*t))
        .sum::<f64>();
    let counted = requests.load(Ordering::Relaxed);
    // The simulator's own log is the authority on how many requests it served.
    let total = sim_runtime
        .block_on(simulator_calls(&sim.base_url()))
        .unwrap_or(counted);

    println!("lifecycles:                 {lifecycles} ({failures} failed)");
    println!("wall time:                  {:.2} s", elapsed.as_secs_f64());
    println!("simulator requests:         {total} (client counted {counted})");
    println!(
        "simulator requests/second:  {:.0}",
        total as f64 / elapsed.as_secs_f64()
    );
    println!("client CPU time:            {cpu:.2} s");
    println!(
        "client CPU per lifecycle:   {:.3} ms",
        cpu * 1000.0 / lifecycles.max(1) as f64
    );
    println!(
        "requests per lifecycle:     {:.1}",
        total as f64 / lifecycles.max(1) as f64
    );

    sim_runtime.block_on(sim.shutdown());
    if failures > 0 {
        std::process::exit(1);
    }
}

/// One session lifecycle; counts every request it makes.
async fn lifecycle(client: &ProviderClient, n: usize, requests: &AtomicU64) -> Result<(), String> {
    let count = |k: u64| requests.fetch_add(k, Ordering::Relaxed);
    let err = |what: &str, e: antpath_provider::ProviderError| format!("{what}: {e}");
    let env = client
        .create_environment(&CreateEnvironment {
            name: format!("bench-{n}"),
            ..Default::default()
        })
        .await
        .map_err(|e| err("create environment", e))?;
    let agent = client
        .create_agent(&CreateAgent::new(format!("bench-{n}"), "claude-sonnet-4-6"))
        .await
        .map_err(|e| err("create agent", e))?;
    let session = client
        .create_session(&CreateSession::new(&agent.id, &env.id))
        .await
        .map_err(|e| err("create session", e))?;
    client
        .send_user_message(&session.id, "antpath-sim: scenario=happy files=1 size=1024")
        .await
        .map_err(|e| err("send", e))?;
    count(4);
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let current = client
            .get_session(&session.id)
            .await
            .map_err(|e| err("poll", e))?;
        count(1);
        if current.status == SessionStatus::Idle {
            break;
        }
    }
    let (events, _) = client
        .list_events_after(&session.id, &EventCursor::default())
        .await
        .map_err(|e| err("events", e))?;
    if events.is_empty() {
        return Err("no events".into());
    }
    let files = client
        .list_session_files(&session.id)
        .await
        .map_err(|e| err("files", e))?;
    count(2);
    for file in files.iter().filter(|f| f.is_downloadable()) {
        let body = client
            .download_file(&file.id)
            .await
            .map_err(|e| err("download", e))?;
        body.bytes().await.map_err(|e| err("download body", e))?;
        count(1);
    }
    client
        .delete_session(&session.id)
        .await
        .map_err(|e| err("delete session", e))?;
    client
        .delete_environment(&env.id)
        .await
        .map_err(|e| err("delete environment", e))?;
    client
        .archive_agent(&agent.id)
        .await
        .map_err(|e| err("archive agent", e))?;
    count(3);
    Ok(())
}

/// The number of `/v1` requests in the simulator's call log.
async fn simulator_calls(base_url: &str) -> Option<u64> {
    let log: serde_json::Value = reqwest::get(format!("{base_url}/__sim/calls"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(log["calls"].as_array()?.len() as u64)
}

/// The kernel id of the calling thread, from `/proc/thread-self/stat`.
fn current_tid() -> Option<u32> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// User plus system CPU seconds of one thread of this process.
fn thread_cpu(tid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}
