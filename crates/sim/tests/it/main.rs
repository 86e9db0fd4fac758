//! Integration tests of the simulator over real HTTP.

mod auth;
mod behaviours;
mod budgets;
mod faults;
mod inspect;
mod outputs;
mod pagination;
mod resources;
mod scenarios;
mod sessions;
mod support;
