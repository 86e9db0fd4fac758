//! Tests of the `antpath` binary, run as a subprocess against the in-memory fake API.

mod cleanup;
mod duplicate_names;
mod follow;
mod runs;
mod support;
mod templates;
mod usage;
