//! Integration tests of the SDK against the in-memory fake API.

mod cleanup;
mod download;
mod duplicate_names;
mod follow;
mod reliability;
mod runs;
mod support;
mod templates;
