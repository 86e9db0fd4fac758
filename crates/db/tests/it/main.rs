//! Integration tests of the data layer against real Postgres, one fresh database per test
//! (`#[sqlx::test]` creates and drops it; `DATABASE_URL` names the server).

mod admission;
mod claims;
mod closing;
mod constraints;
mod fixtures;
mod group_admission;
mod members;
mod migrations;
mod phase_history;
mod rate_limits;
