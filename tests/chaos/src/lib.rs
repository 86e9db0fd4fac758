//! The chaos suite's harness: the real `antpath-sim`, `antpath-bff`, `antpath-worker` and
//! `antpath-sweeper` binaries on their own database, storage folder and simulator, put under
//! provider faults (429/5xx, latency, dropped connections, lost responses, a window of failing
//! deletes), SIGKILLed worker replicas, terminated database connections and a database outage
//! (played by an in-process TCP proxy, so the shared Postgres server keeps running); then quiet,
//! a sweeper pass, and every invariant checked and printed as figures.
//!
//! The test `tests/chaos.rs` runs the short form; `scripts/chaos --runs N` the long one. See
//! `docs/reliability.md`.
//!
//! - [`suite`]: one run from start to figures.
//! - [`stack`], [`process`], [`proxy`], [`database`]: the processes and what sits between them.
//! - [`plan`]: the scenarios and their expected outcomes; [`monkey`]: the chaos.
//! - [`model`]: how the run model is read (the one file to adapt when it changes).
//! - [`facts`], [`checks`], [`figures`]: what is looked at, what must hold, what is printed.

pub mod api;
pub mod checks;
pub mod database;
pub mod facts;
pub mod figures;
pub mod model;
pub mod monkey;
pub mod plan;
pub mod process;
pub mod proxy;
pub mod stack;
pub mod suite;
