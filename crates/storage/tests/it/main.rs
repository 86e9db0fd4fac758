//! Integration tests of `antpath-storage`: one suite run against both backends, plus checks
//! specific to each backend and to key handling.
//!
//! The S3 half starts a real `s3s-fs` server per test; install it with
//! `scripts/install-s3s-fs` (or point `ANTPATH_S3S_FS` at the binary).

mod keys;
mod local;
mod s3;
mod suite;
mod support;
