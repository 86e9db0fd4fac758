//! Regression: during a database outage every request answered `500 internal_error`, though
//! docs/api.md promises `503` with `Retry-After`. The outage here is real: the bff reaches
//! Postgres through an in-test TCP proxy, which is then stopped (the shared Postgres server
//! keeps running for the other tests).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::support::{TestApp, submission};

/// Forwards every connection it accepts to Postgres until stopped.
struct Proxy {
    port: u16,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops the set, which aborts every forwarding.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ended = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, task }
    }

    /// Closes the listening port and every forwarded connection.
    async fn stop(self) {
        self.task.abort();
        let stopped = self.task.await;
        assert!(
            stopped.is_err_and(|e| e.is_cancelled()),
            "the proxy ended by itself"
        );
    }
}

/// A pool over the same test database, reached through `port`.
fn pool_through(direct: &PgPool, port: u16) -> PgPool {
    let options = (*direct.connect_options())
        .clone()
        .host("127.0.0.1")
        .port(port);
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(options)
}

#[sqlx::test(migrator = "antpath_db::MIGRATOR")]
async fn a_database_outage_is_a_503_with_retry_after_and_readiness_fails(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let tenant = app.tenant("acme").await;
    let options = pool.connect_options();
    let proxy = Proxy::start((options.get_host().to_owned(), options.get_port())).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = antpath_bff::start(&app.settings, pool_through(&pool, proxy.port), listener)
        .await
        .expect("start");
    let base = server.base_url();
    let client = reqwest::Client::new();

    let healthy = client
        .get(format!("{base}/v1/runs"))
        .bearer_auth(&tenant.token)
        .send()
        .await
        .expect("list");
    assert_eq!(healthy.status(), 200, "the proxy works before the outage");
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    proxy.stop().await;

    let list = client
        .get(format!("{base}/v1/runs"))
        .bearer_auth(&tenant.token)
        .send();
    let submit = client
        .post(format!("{base}/v1/runs"))
        .bearer_auth(&tenant.token)
        .json(&submission())
        .send();
    for response in [list.await.expect("list"), submit.await.expect("submit")] {
        assert_eq!(response.status(), 503);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("whole seconds");
        assert!(retry_after >= 1);
        let body: serde_json::Value = response.json().await.expect("error shape");
        assert_eq!(body["error"]["type"], "service_unavailable", "{body}");
        assert!(body["error"]["request_id"].is_string(), "{body}");
    }
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    assert!(ready.headers().contains_key("retry-after"));
    server.shutdown().await.expect("clean shutdown");
}
