//! An in-process TCP proxy between the services and Postgres.
//!
//! Every service reaches the database through it, so the harness can cut their connections
//! ([`PgProxy::sever_all`]) or play a database outage ([`PgProxy::outage`]: the listening socket
//! is closed, so new connections are refused, and every open one is cut) without touching the
//! shared Postgres server other people's tests use.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a rebind of the listening port is tried after an outage before giving up.
const REBIND_TRIES: u32 = 100;
/// Pause between two rebind tries.
const REBIND_PAUSE: Duration = Duration::from_millis(20);

/// What the proxy did, for the figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted and forwarded.
    pub accepted: u64,
    /// Forwarded connections cut by [`PgProxy::sever_all`] or an outage.
    pub severed: u64,
    /// Outages played.
    pub outages: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    severed: AtomicU64,
    outages: AtomicU64,
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct PgProxy {
    addr: SocketAddr,
    /// Bumped to cut every open connection.
    epoch: watch::Sender<u64>,
    /// `true` while the database is "down".
    down: watch::Sender<bool>,
    /// `true` while the listening socket is open (the accept loop's side of `down`).
    listening: watch::Receiver<bool>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl PgProxy {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let (epoch, _) = watch::channel(0);
        let (down, _) = watch::channel(false);
        let (listening_tx, listening) = watch::channel(true);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept_loop(
            Sockets {
                listener,
                upstream,
                epoch: epoch.clone(),
                down: down.subscribe(),
                listening: listening_tx,
            },
            Arc::clone(&counters),
        ));
        Ok(Self {
            addr,
            epoch,
            down,
            listening,
            counters,
            task,
        })
    }

    /// The address services connect to instead of Postgres.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every connection open now; new ones are accepted as usual.
    pub fn sever_all(&self) {
        self.epoch.send_modify(|epoch| *epoch += 1);
    }

    /// Plays a database outage of `length`: open connections are cut and new ones refused
    /// until it is over. Returns once the proxy accepts connections again.
    pub async fn outage(&self, length: Duration) {
        self.counters.outages.fetch_add(1, Ordering::Relaxed);
        let mut listening = self.listening.clone();
        self.down.send_replace(true);
        let _ = listening.wait_for(|open| !*open).await;
        self.sever_all();
        tokio::time::sleep(length).await;
        self.down.send_replace(false);
        let _ = listening.wait_for(|open| *open).await;
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            severed: self.counters.severed.load(Ordering::Relaxed),
            outages: self.counters.outages.load(Ordering::Relaxed),
        }
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.sever_all();
    }
}

/// A listener on `addr` that may take over the port again right after it was closed.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// The accept loop's sockets and signals.
struct Sockets {
    listener: TcpListener,
    upstream: SocketAddr,
    epoch: watch::Sender<u64>,
    down: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
}

async fn accept_loop(sockets: Sockets, counters: Arc<Counters>) {
    let Sockets {
        mut listener,
        upstream,
        epoch,
        mut down,
        listening,
    } = sockets;
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((client, _)) = accepted {
                    counters.accepted.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(pipe(client, upstream, epoch.subscribe(), Arc::clone(&counters)));
                }
            }
            changed = down.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*down.borrow_and_update() {
                    continue;
                }
                // Closing the listening socket is what makes connects fail with "refused".
                drop(listener);
                listening.send_replace(false);
                while *down.borrow_and_update() {
                    if down.changed().await.is_err() {
                        return;
                    }
                }
                let Some(again) = rebind(addr).await else {
                    return;
                };
                listener = again;
                listening.send_replace(true);
            }
        }
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..REBIND_TRIES {
        if let Ok(listener) = bind(addr) {
            return Some(listener);
        }
        tokio::time::sleep(REBIND_PAUSE).await;
    }
    None
}

/// Forwards one connection until either side closes it or the epoch moves on.
async fn pipe(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut epoch: watch::Receiver<u64>,
    counters: Arc<Counters>,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = epoch.changed() => {
            counters.severed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that echoes every byte back.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn bytes_pass_through_until_the_connections_are_severed() {
        let proxy = PgProxy::start(echo().await).await.expect("proxy");
        let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(round_trip(&mut stream).await.expect("echo"), b"ping");
        proxy.sever_all();
        let mut buf = Vec::new();
        let read = stream.read_to_end(&mut buf).await;
        assert!(read.is_err() || buf.is_empty(), "the connection was cut");
        let mut fresh = TcpStream::connect(proxy.addr()).await.expect("reconnect");
        assert_eq!(round_trip(&mut fresh).await.expect("echo"), b"ping");
        assert_eq!(proxy.stats().severed, 1);
    }

    #[tokio::test]
    async fn an_outage_refuses_connections_and_then_the_same_port_serves_again() {
        let proxy = Arc::new(PgProxy::start(echo().await).await.expect("proxy"));
        let outage = tokio::spawn({
            let proxy = Arc::clone(&proxy);
            async move { proxy.outage(Duration::from_millis(400)).await }
        });
        let mut refused = false;
        while !outage.is_finished() {
            if TcpStream::connect(proxy.addr()).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        outage.await.expect("outage");
        assert!(refused, "connections were refused during the outage");
        let mut stream = TcpStream::connect(proxy.addr())
            .await
            .expect("connect after");
        assert_eq!(round_trip(&mut stream).await.expect("echo"), b"ping");
        assert_eq!(proxy.stats().outages, 1);
    }
}
