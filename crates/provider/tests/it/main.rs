//! Integration tests of the provider client: the fixtures, then every call and scenario
//! against the simulator over real HTTP.

mod fixtures;
mod lifecycle;
mod reconcile;
mod redaction;
mod retries;
mod scenarios;
mod support;
