//! The suite's own database on the shared Postgres server: created fresh with a unique name,
//! reachable directly by the harness and through the [`crate::proxy`] by the services, dumped
//! for the canary check, and dropped at the end.

use std::net::SocketAddr;
use std::process::Command;

use anyhow::{Context as _, bail};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The `application_name` of the harness's own connections, which are never terminated.
pub const HARNESS_APP: &str = "antpath-chaos-harness";

/// Prefix of the `application_name` every service connection carries (see [`TestDatabase::url_via`]).
pub const SERVICE_APP_PREFIX: &str = "antpath-chaos-svc-";

/// The server URL without a database, from `ANTPATH_TEST_PG` (as the other suites) or the
/// local default.
pub fn server_url() -> String {
    std::env::var("ANTPATH_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A uniquely named database; [`TestDatabase::drop_now`] removes it, and so (best effort) does
/// dropping the value.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    /// The harness's pool, connected directly (not through the proxy).
    pub pool: PgPool,
    dropped: bool,
}

impl TestDatabase {
    /// Creates `antpath_chaos_<random>` on the server.
    pub async fn create() -> anyhow::Result<Self> {
        let server = server_url();
        let name = format!("antpath_chaos_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{server}/postgres"))
            .await
            .context("while connecting to the Postgres server")?;
        // A database name cannot be a bind parameter; this one is ours and alphanumeric.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&admin)
            .await
            .context("while creating the chaos database")?;
        admin.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&format!("{server}/{name}?application_name={HARNESS_APP}"))
            .await
            .context("while connecting to the chaos database")?;
        Ok(Self {
            server,
            name,
            pool,
            dropped: false,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The direct URL (for `pg_dump` and the migration).
    pub fn direct_url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// The URL a service uses: through `proxy`, tagged with `application_name`
    /// `antpath-chaos-svc-<service>` so its connections can be found and terminated.
    pub fn url_via(&self, proxy: SocketAddr, service: &str) -> anyhow::Result<String> {
        let user = self
            .server
            .strip_prefix("postgres://")
            .and_then(|rest| rest.split_once('@'))
            .map(|(user, _)| user)
            .context("ANTPATH_TEST_PG must look like postgres://user[:password]@host:port")?;
        Ok(format!(
            "postgres://{user}@{proxy}/{}?application_name={SERVICE_APP_PREFIX}{service}",
            self.name
        ))
    }

    /// The server's socket address, where the proxy forwards to.
    pub async fn server_addr(&self) -> anyhow::Result<SocketAddr> {
        let host = self
            .server
            .rsplit_once('@')
            .map_or(self.server.as_str(), |(_, host)| host)
            .trim_start_matches("postgres://")
            .trim_end_matches('/');
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:5432")
        };
        tokio::net::lookup_host(&host)
            .await
            .with_context(|| format!("while resolving {host}"))?
            .next()
            .with_context(|| format!("{host} resolves to nothing"))
    }

    /// Terminates every backend of the services on this database (not the harness's):
    /// `pg_terminate_backend` by database and `application_name`. Returns how many.
    pub async fn terminate_service_backends(&self) -> anyhow::Result<u64> {
        let killed: i64 = sqlx::query_scalar(
            "select count(*) from (
                 select pg_terminate_backend(pid) from pg_stat_activity
                 where datname = $1 and pid <> pg_backend_pid()
                   and application_name like $2 || '%'
             ) as terminated",
        )
        .bind(&self.name)
        .bind(SERVICE_APP_PREFIX)
        .fetch_one(&self.pool)
        .await
        .context("while terminating the services' backends")?;
        Ok(u64::try_from(killed).unwrap_or(0))
    }

    /// `pg_dump` of the whole database (schema and data) as text.
    pub fn dump(&self) -> anyhow::Result<String> {
        let out = Command::new("pg_dump")
            .arg("--no-owner")
            .arg(self.direct_url())
            .output()
            .context("while running pg_dump (is it installed?)")?;
        if !out.status.success() {
            bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Closes the harness's pool and drops the database (forcing out any connection left).
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        self.pool.close().await;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{}/postgres", self.server))
            .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "drop database if exists {} with (force)",
            self.name
        )))
        .execute(&admin)
        .await
        .context("while dropping the chaos database")?;
        admin.close().await;
        self.dropped = true;
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Best effort after a failed run: a database left behind only costs disk.
        let _ = Command::new("psql")
            .arg(format!("{}/postgres", self.server))
            .arg("-qc")
            .arg(format!(
                "drop database if exists {} with (force)",
                self.name
            ))
            .output();
    }
}
