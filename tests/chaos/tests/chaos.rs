//! The chaos suite in its short form (`ANTPATH_CHAOS_RUNS` makes it longer; `scripts/chaos`
//! builds the binaries and runs it with the figures shown).

use antpath_chaos::suite::{self, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_ends_cleanly_through_provider_faults_worker_kills_and_a_database_outage() {
    let options = Options::from_env().expect("chaos options");
    eprintln!(
        "chaos: {} runs, seed {} (ANTPATH_CHAOS_SEED={} repeats the choices)",
        options.runs, options.dose.seed, options.dose.seed
    );
    let figures = suite::run(&options).await.expect("the chaos run completes");
    let report = figures.render();
    println!("{report}");
    assert!(figures.all_hold(), "an invariant broke:{report}");
}
