//! Integration tests of the bff: one binary, a fresh database per test.

mod admin;
mod auth;
mod contract;
mod cost;
mod custody;
mod dashboard;
mod http;
mod input;
mod openapi;
mod outage;
mod output_names;
mod pepper_rotation;
mod reads;
mod requests;
mod sign_in;
mod slow_clients;
mod stream;
mod stream_sdk;
mod stream_watches;
mod submit;
mod support;
mod tenancy;
mod workspace;
