//! The shared state of one simulator instance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::inspect::CallLog;
use crate::store::Store;

/// Everything the routes, layers and scripted agents share.
#[derive(Debug)]
pub struct Sim {
    /// The configuration the instance was built from (faults live in [`Sim::faults`]).
    pub config: SimConfig,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    calls: Mutex<CallLog>,
    /// TCP connections accepted since start, so tests can see whether clients reuse them.
    connections: AtomicU64,
}

/// The handle passed around as axum state.
pub type SharedSim = Arc<Sim>;

impl Sim {
    /// A fresh, empty simulator.
    pub fn new(config: SimConfig) -> SharedSim {
        let faults = Faults::new(config.faults.clone());
        let retention = config.retention;
        Arc::new(Self {
            config,
            store: Mutex::new(Store::new(retention)),
            faults: Mutex::new(faults),
            calls: Mutex::new(CallLog::new(retention.max_calls)),
            connections: AtomicU64::new(0),
        })
    }

    /// Counts one accepted TCP connection.
    pub fn connection_accepted(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// TCP connections accepted since start.
    pub fn connections_accepted(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// The resource store. Never hold the guard across an `.await`.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault state.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The log of received requests (bounded) and the per-route counts.
    pub fn calls(&self) -> MutexGuard<'_, CallLog> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Aborts every scripted agent still running (on shutdown).
    pub fn stop_agents(&self) {
        self.store().abort_all_turns();
    }
}
