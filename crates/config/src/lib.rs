//! Configuration of every antpath service.
//!
//! Sources are layered, later ones winning: built-in defaults → an optional file (the path in
//! `ANTPATH_CONFIG`, TOML) → environment variables with the `ANTPATH_` prefix and `__` between
//! levels (`ANTPATH_DATABASE__URL`, `ANTPATH_LIMITS__MAX_ACTIVE_RUNS_PER_WORKSPACE`). The plain
//! `DATABASE_URL` is honoured when `ANTPATH_DATABASE__URL` is unset, since every Postgres tool
//! knows it.
//!
//! [`Settings::load`] parses once into typed structs; [`Settings::validate`] then checks what a
//! given [`Role`] needs and reports **every** missing or invalid setting in one error, so an
//! operator fixes a deployment in one pass. Optional limits have conservative defaults, listed
//! in `docs/configuration.md`.

mod limits;
mod settings;
mod validate;

pub use limits::Limits;
pub use settings::{
    BffSettings, DatabaseSettings, EncryptionSettings, LEGACY_PEPPER_ID, LeakScan,
    ProviderSettings, S3Settings, Settings, StorageBackend, StorageSettings, SweeperSettings,
    WorkerSettings,
};
pub use validate::{ConfigError, Role};
