//! Integration tests of the SDK against the in-memory fake API.

mod download;
mod follow;
mod reliability;
mod runs;
mod support;
mod templates;
