//! The in-memory resource store.
//!
//! Every resource is a [`Record`]: its API body (kept up to date as JSON, exactly what the
//! routes return), a lifecycle state for inspection and per-kind bookkeeping in [`Ext`].
//! Deleted records stay in the store (so `/__sim/resources` can show them) but every API route
//! treats them as missing.
//!
//! Memory is bounded by a [`Retention`] policy, so a long soak does not grow without limit:
//! past `max_deleted` deleted records the oldest deletion is forgotten; past `max_archived`
//! archived records the oldest archive is forgotten (it then reads as 404, as after a
//! provider-side purge); past `max_events_per_session` events a session drops its oldest
//! events (the list then starts later; cursors stay valid because every event keeps its
//! sequence number).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::error::ApiError;
use crate::ids;

/// Resource kinds, as named by the inspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `env_…`
    Environment,
    /// `agent_…`
    Agent,
    /// `vlt_…`
    Vault,
    /// `vcrd_…`
    Credential,
    /// `sesn_…`
    Session,
    /// `file_…`
    File,
}

impl Kind {
    /// The noun used in 404 messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Environment => "environment",
            Kind::Agent => "agent",
            Kind::Vault => "vault",
            Kind::Credential => "credential",
            Kind::Session => "session",
            Kind::File => "file",
        }
    }
}

/// Lifecycle state shown by the inspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Life {
    /// Usable.
    Live,
    /// Archived: readable, but rejected for new use.
    Archived,
    /// Deleted: invisible to the API.
    Deleted,
}

/// One stored resource.
#[derive(Debug)]
pub struct Record {
    /// The resource id.
    pub id: String,
    /// Its kind.
    pub kind: Kind,
    /// Insertion order, the key of every list and cursor.
    pub seq: u64,
    /// Lifecycle state.
    pub life: Life,
    /// The API representation.
    pub body: Value,
    /// Kind-specific bookkeeping.
    pub ext: Ext,
}

/// Kind-specific bookkeeping of a [`Record`].
#[derive(Debug)]
pub enum Ext {
    /// Nothing beyond the body.
    None,
    /// An agent: every saved version, oldest first.
    Agent {
        /// Bodies of versions 1..=current.
        versions: Vec<Value>,
    },
    /// A vault credential.
    Credential {
        /// The owning vault.
        vault_id: String,
        /// sha256 of the secret (bearer token, access token or secret value).
        token_sha256: Option<String>,
    },
    /// A session.
    Session(Box<SessionExt>),
    /// A file.
    File(FileExt),
}

/// How much history the store keeps (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Deleted records kept for inspection.
    pub max_deleted: usize,
    /// Archived records kept.
    pub max_archived: usize,
    /// Events kept per session.
    pub max_events_per_session: usize,
    /// Requests kept in the call log (`GET /__sim/calls`).
    pub max_calls: usize,
}

impl Default for Retention {
    /// 10,000 deleted and 10,000 archived records, 20,000 events per session and 20,000
    /// logged requests: far beyond any test, small enough (tens of MB) for a soak.
    fn default() -> Self {
        Self {
            max_deleted: 10_000,
            max_archived: 10_000,
            max_events_per_session: 20_000,
            max_calls: crate::inspect::MAX_CALLS,
        }
    }
}

/// Runtime state of a session.
#[derive(Debug)]
pub struct SessionExt {
    /// The retained event history, oldest first; the first one has sequence
    /// `dropped_events + 1`.
    pub events: VecDeque<Value>,
    /// Events evicted from the front of `events` by the retention policy.
    pub dropped_events: u64,
    /// Most events kept (from the store's [`Retention`]).
    pub max_events: usize,
    /// Live subscribers (SSE streams).
    pub live: broadcast::Sender<Value>,
    /// Work queued for the scripted agent.
    pub pending: VecDeque<Work>,
    /// The scripted agent currently running, if any.
    pub turn: Option<Turn>,
    /// Tool-use event ids awaiting `user.tool_confirmation`.
    pub awaiting: Vec<String>,
    /// Whether any confirmation of the current wait was a deny.
    pub denied: bool,
    /// The directive of the turn waiting for confirmations.
    pub parked: Option<crate::scenario::Directive>,
    /// Output files created so far (for deterministic names).
    pub files_made: usize,
}

/// One unit of work for the scripted agent.
#[derive(Debug, Clone)]
pub enum Work {
    /// A `user.message`: its event id and its text.
    Message {
        /// The `sevt_` id of the user event.
        event_id: String,
        /// All text blocks joined.
        text: String,
    },
    /// Every pending tool confirmation arrived; `allow` is false if any was denied.
    Resume {
        /// Whether the tool may run.
        allow: bool,
        /// The directive of the turn that asked.
        directive: crate::scenario::Directive,
    },
}

/// A running scripted agent.
#[derive(Debug)]
pub struct Turn {
    /// Set by `user.interrupt`.
    pub interrupt: std::sync::Arc<tokio::sync::Notify>,
    /// Whether an interrupt arrived.
    pub interrupted: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Aborts the task on shutdown.
    pub abort: Option<AbortHandle>,
}

/// Bookkeeping of a file.
#[derive(Debug)]
pub struct FileExt {
    /// The session the file is scoped to.
    pub session_id: Option<String>,
    /// The bytes, held or generated on read.
    pub content: crate::content::Content,
    /// sha256 of the bytes.
    pub sha256: String,
    /// When the file becomes visible in lists (late files); `None`: at once.
    pub visible_at: Option<Instant>,
}

/// Capacity of each session's live event channel; a slow SSE reader past this misses events
/// (as with the real stream, history is the source of truth).
const LIVE_CAPACITY: usize = 1024;

impl SessionExt {
    /// Fresh runtime state.
    pub fn new() -> Self {
        Self {
            events: VecDeque::new(),
            dropped_events: 0,
            max_events: Retention::default().max_events_per_session,
            live: broadcast::channel(LIVE_CAPACITY).0,
            pending: VecDeque::new(),
            turn: None,
            awaiting: Vec::new(),
            denied: false,
            parked: None,
            files_made: 0,
        }
    }

    /// Persists an event (assigning its `sevt_` id and `processed_at`) and sends it to live
    /// streams. `processed: false` leaves `processed_at` null (a queued user event).
    pub fn push(&mut self, mut event: Value, processed: bool) -> Value {
        event["id"] = Value::String(ids::new_id("sevt"));
        event["processed_at"] = if processed {
            Value::String(ids::now())
        } else {
            Value::Null
        };
        self.events.push_back(event.clone());
        while self.events.len() > self.max_events.max(1) {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        let _ = self.live.send(event.clone());
        event
    }

    /// The retained events with their 1-based sequence numbers, oldest first.
    pub fn numbered_events(&self) -> impl Iterator<Item = (u64, &Value)> {
        let first = self.dropped_events + 1;
        self.events
            .iter()
            .enumerate()
            .map(move |(i, e)| (first + i as u64, e))
    }
}

/// All records of one simulator.
#[derive(Debug, Default)]
pub struct Store {
    records: HashMap<String, Record>,
    next_seq: u64,
    retention: Retention,
    /// Ids of deleted records, oldest deletion first.
    deleted: VecDeque<String>,
    /// Ids of archived records, oldest archive first.
    archived: VecDeque<String>,
}

impl Store {
    /// An empty store keeping history as `retention` says.
    pub fn new(retention: Retention) -> Self {
        Self {
            retention,
            ..Self::default()
        }
    }

    /// How many records the store holds, deleted and archived ones included.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the store holds no record.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets the oldest entries of `queue` past `max` (those still in the state the queue
    /// tracks; a record archived and then deleted is tracked by the deleted queue).
    fn evict(&mut self, deleted: bool) {
        let (queue, max) = if deleted {
            (&mut self.deleted, self.retention.max_deleted)
        } else {
            (&mut self.archived, self.retention.max_archived)
        };
        while queue.len() > max {
            let Some(id) = queue.pop_front() else { break };
            let wanted = if deleted {
                Life::Deleted
            } else {
                Life::Archived
            };
            if self.records.get(&id).is_some_and(|r| r.life == wanted)
                && let Some(Record {
                    ext: Ext::Session(session),
                    ..
                }) = self.records.remove(&id)
                && let Some(abort) = session.turn.and_then(|t| t.abort)
            {
                abort.abort();
            }
        }
    }

    /// Inserts a new record and returns its body.
    pub fn insert(&mut self, kind: Kind, id: String, body: Value, ext: Ext) -> Value {
        let ext = match ext {
            Ext::Session(mut session) => {
                session.max_events = self.retention.max_events_per_session;
                Ext::Session(session)
            }
            other => other,
        };
        self.next_seq += 1;
        let record = Record {
            id: id.clone(),
            kind,
            seq: self.next_seq,
            life: Life::Live,
            body,
            ext,
        };
        let body = record.body.clone();
        self.records.insert(id, record);
        body
    }

    /// A record of `kind` that is not deleted, or 404.
    pub fn get(&self, kind: Kind, id: &str) -> Result<&Record, ApiError> {
        match self.records.get(id) {
            Some(r) if r.kind == kind && r.life != Life::Deleted => Ok(r),
            _ => Err(ApiError::no_such(kind.noun(), id)),
        }
    }

    /// Mutable access to a record of `kind` that is not deleted, or 404.
    pub fn get_mut(&mut self, kind: Kind, id: &str) -> Result<&mut Record, ApiError> {
        match self.records.get_mut(id) {
            Some(r) if r.kind == kind && r.life != Life::Deleted => Ok(r),
            _ => Err(ApiError::no_such(kind.noun(), id)),
        }
    }

    /// A live (not archived) record of `kind`: 404 if missing, 400 if archived.
    pub fn usable(&self, kind: Kind, id: &str) -> Result<&Record, ApiError> {
        let record = self.get(kind, id)?;
        if record.life == Life::Archived {
            return Err(ApiError::invalid(format!(
                "{} {id} is archived",
                kind.noun()
            )));
        }
        Ok(record)
    }

    /// Non-deleted records of `kind` matching `keep`, oldest first.
    pub fn list(&self, kind: Kind, keep: impl Fn(&Record) -> bool) -> Vec<&Record> {
        let mut out: Vec<&Record> = self
            .records
            .values()
            .filter(|r| r.kind == kind && r.life != Life::Deleted && keep(r))
            .collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Every record, deleted ones included, oldest first.
    pub fn all(&self) -> Vec<&Record> {
        let mut out: Vec<&Record> = self.records.values().collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Marks a record archived and stamps `archived_at`/`updated_at`; idempotent.
    pub fn archive(&mut self, kind: Kind, id: &str) -> Result<Value, ApiError> {
        let record = self.get_mut(kind, id)?;
        if record.life == Life::Live {
            let now = ids::now();
            record.life = Life::Archived;
            record.body["archived_at"] = Value::String(now.clone());
            if record.body.get("updated_at").is_some() {
                record.body["updated_at"] = Value::String(now);
            }
            let body = record.body.clone();
            self.archived.push_back(id.to_owned());
            self.evict(false);
            return Ok(body);
        }
        Ok(record.body.clone())
    }

    /// Marks a record deleted and drops heavy payloads (file bytes, event history).
    pub fn delete(&mut self, kind: Kind, id: &str) -> Result<(), ApiError> {
        let record = self.get_mut(kind, id)?;
        record.life = Life::Deleted;
        match &mut record.ext {
            Ext::File(file) => file.content = crate::content::Content::Held(Bytes::new()),
            Ext::Session(session) => {
                if let Some(turn) = session.turn.take().and_then(|t| t.abort) {
                    turn.abort();
                }
                session.events.clear();
                session.pending.clear();
            }
            _ => {}
        }
        self.deleted.push_back(id.to_owned());
        self.evict(true);
        Ok(())
    }

    /// The runtime state of a non-deleted session.
    pub fn session_mut(&mut self, id: &str) -> Result<(&mut Value, &mut SessionExt), ApiError> {
        let record = self.get_mut(Kind::Session, id)?;
        match &mut record.ext {
            Ext::Session(ext) => Ok((&mut record.body, ext)),
            _ => Err(ApiError::no_such("session", id)),
        }
    }

    /// Aborts every running scripted agent.
    pub fn abort_all_turns(&mut self) {
        for record in self.records.values_mut() {
            if let Ext::Session(ext) = &mut record.ext
                && let Some(abort) = ext.turn.as_ref().and_then(|t| t.abort.as_ref())
            {
                abort.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn small() -> Store {
        Store::new(Retention {
            max_deleted: 3,
            max_archived: 2,
            max_events_per_session: 5,
            max_calls: 10,
        })
    }

    fn session(store: &mut Store, id: &str) {
        store.insert(
            Kind::Session,
            id.to_owned(),
            json!({ "id": id, "status": "idle", "archived_at": null }),
            Ext::Session(Box::new(SessionExt::new())),
        );
    }

    #[test]
    fn a_soak_of_deleted_and_archived_sessions_keeps_the_store_bounded() {
        let mut store = small();
        for i in 0..100 {
            let id = format!("sesn_{i}");
            session(&mut store, &id);
            if i % 2 == 0 {
                store.delete(Kind::Session, &id).expect("delete");
            } else {
                store.archive(Kind::Session, &id).expect("archive");
            }
        }
        assert_eq!(store.len(), 3 + 2);
        // The newest of each survive; the oldest are forgotten.
        assert!(store.get(Kind::Session, "sesn_99").is_ok());
        assert!(store.get(Kind::Session, "sesn_1").is_err());
        let deleted = store
            .all()
            .into_iter()
            .filter(|r| r.life == Life::Deleted)
            .map(|r| r.id.clone())
            .collect::<Vec<_>>();
        assert_eq!(deleted, ["sesn_94", "sesn_96", "sesn_98"]);
    }

    #[test]
    fn a_long_session_keeps_its_latest_events_with_stable_sequence_numbers() {
        let mut store = small();
        session(&mut store, "sesn_long");
        let (_, ext) = store.session_mut("sesn_long").expect("session");
        for i in 0..12 {
            ext.push(json!({ "type": "agent.message", "n": i }), true);
        }
        let kept: Vec<(u64, i64)> = ext
            .numbered_events()
            .map(|(seq, e)| (seq, e["n"].as_i64().expect("n")))
            .collect();
        assert_eq!(kept, [(8, 7), (9, 8), (10, 9), (11, 10), (12, 11)]);
        assert!(!store.is_empty());
    }
}
