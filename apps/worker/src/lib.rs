//! The antpath worker: claims runs under a lease and drives each through bounded, idempotent
//! steps on the provider (see `docs/worker.md`).
//!
//! - [`app`]: wiring: the claim loop over [`store::RunStore`] and [`job::RunJob`], and the
//!   health endpoint.
//! - [`context`]: what a step works with ([`Deps`], [`context::Ctx`]); imports none of the others.
//! - [`job`]: one claimed run: load it (once per lease hold), run the step its `phase` names,
//!   chain steps that are due at once, and turn step errors into retries or failures.
//! - [`steps`]: provision → session → dispatch → observe → (interrupt) → capture → cleanup.
//! - [`journal`]: journal-before-create and adopt-by-metadata for every provider resource.
//! - [`mapping`]: the template's agent and environment in the provider's shapes, and the
//!   platform rules a template must meet.
//! - [`throttle`]: the per-key provider throttle, local to the process until the provider
//!   pushes back, then shared through Postgres.
//! - [`inputs`]: loading a run with its sealed inputs for one lease hold, and opening them.
//! - [`finisher`]: ends runs whose cleanup is over, several per commit.
//! - [`faults`]: a crash hook for recovery tests.

pub mod app;
pub mod config;
pub mod context;
pub mod error;
pub mod faults;
pub mod finisher;
pub mod health;
pub mod inputs;
pub mod job;
pub mod journal;
pub mod mapping;
pub mod metrics;
pub mod steps;
pub mod store;
pub mod throttle;

pub use app::{WorkerHandle, start};
pub use config::{Tuning, WorkerConfig};
pub use context::Deps;
pub use faults::FaultHook;
