//! Integration tests of the worker against real Postgres (a fresh database per test) and the
//! provider simulator in-process.

mod cancel;
mod concurrency;
mod convergence;
mod finisher;
mod lifecycle;
mod observation;
mod outputs;
mod recovery;
mod reuse;
mod rotation;
mod secrets;
mod sigkill;
mod spend;
mod support;
mod throttle;
mod transport;
mod xacts;
