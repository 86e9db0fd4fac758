//! Integration tests of the bff: one binary, a fresh database per test.

mod admin;
mod auth;
mod custody;
mod http;
mod openapi;
mod reads;
mod requests;
mod submit;
mod support;
mod tenancy;
mod workspace;
