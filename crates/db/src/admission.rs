//! Admitting submissions: the rate limit, the workspace lock, the active-run caps and the
//! insert of each run with its sealed inputs, for a group of submissions in one statement.
//!
//! [`admit_many`] is the bff's one way in: a replica gathers the submissions that wait at the
//! same moment and admits them together, so the statement's fixed cost, the workspace lock
//! and the counts are paid once per group (migration `…000250_group_admission.sql`, whose
//! `admit_decide` makes every decision exactly as one submission at a time would). [`admit`]
//! is a group of one.

use std::collections::HashMap;

use antpath_types::{RunId, TokenId};
use sqlx::PgPool;
use uuid::Uuid;

use crate::DbError;
use crate::rate_limits::BucketSpec;
use crate::runs::{NewRun, SealedSecret};

/// The outcome of one admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A new run was created.
    Created(RunId),
    /// The idempotency key already named a run from the same request.
    Existing(RunId),
    /// The workspace already has this many active runs, its cap.
    OverWorkspaceCap(i32),
    /// The token already has this many active runs, its cap.
    OverTokenCap(i32),
    /// The submission asked explicitly for a longer run than the plan's cap, in seconds.
    DurationOverCap(i32),
    /// The workspace is not active (deleting, suspended or gone).
    WorkspaceInactive,
    /// The submission rate limit's bucket was empty; nothing was written. Ask again after
    /// this long.
    RateLimited(std::time::Duration),
}

/// The rate-limit bucket a submission spends one token from, in its admitting statement.
#[derive(Debug, Clone)]
pub struct SubmitBucket {
    /// The bucket's name (`submit:<workspace>`).
    pub key: String,
    /// Its capacity and refill.
    pub spec: BucketSpec,
}

/// One submission to admit.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The run row.
    pub run: NewRun,
    /// Its sealed inputs.
    pub secret: SealedSecret,
    /// The bucket it spends a token from.
    pub bucket: SubmitBucket,
    /// The duration the submission itself asked for, if any: above the plan's cap it is
    /// refused, where the template's own limit is only clamped.
    pub explicit_duration: Option<i32>,
    /// The submission's W3C trace context (ids only), which the worker's step spans continue.
    pub trace_parent: Option<String>,
}

/// What `admit_decide` said about one row of a group (its words are the function's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
enum Decision {
    /// Insert it.
    Admit,
    /// The bucket was empty.
    RateLimited,
    /// The workspace is not active.
    Inactive,
    /// The idempotency key already names a run.
    Existing,
    /// An explicit duration above the plan's cap.
    DurationOver,
    /// The workspace is at its cap.
    OverWorkspace,
    /// The token is at its cap.
    OverToken,
}

/// Admits one submission: [`admit_many`] with a group of one.
pub async fn admit(db: &PgPool, admission: &Admission) -> Result<Admitted, DbError> {
    let mut outcomes = admit_many(db, std::slice::from_ref(admission)).await?;
    outcomes
        .pop()
        .unwrap_or_else(|| Err(DbError::Sqlx(sqlx::Error::RowNotFound)))
}

/// Admits a group of submissions in one autocommitted statement and returns each one's
/// outcome, in the group's order. No two admissions may share a workspace and an idempotency
/// key; the caller splits such a group.
///
/// Every decision is exact: the admissions of one workspace are serialised by its row lock,
/// taken once per group after the row's rate-limit token is spent, and every count sees the
/// runs admitted before it, in earlier groups or earlier in this one. The lock is held for
/// this statement and its commit only, and the commit does not wait for its WAL flush
/// (`synchronous_commit` is off for this transaction alone), so the workspace's next group
/// does not wait for a disk write. The runs are visible before they are durable: read them
/// back with [`crate::run_reads::get_many_durable`] before telling anyone they exist.
/// Everything that acts on a run commits durably itself (a worker's claim, a cancel), which
/// flushes this commit first, so nothing can come of a run that a crash then loses.
///
/// An admission whose key names a run of the same request is [`Admitted::Existing`] (even at
/// a cap: a replay is not a new run); of a different request, [`DbError::IdempotencyConflict`].
/// Nothing is written for an admission that is not created; its sealed inputs are inserted
/// from its inserted run, so none is orphaned.
#[tracing::instrument(skip_all, fields(admissions = group.len()))]
pub async fn admit_many(
    db: &PgPool,
    group: &[Admission],
) -> Result<Vec<Result<Admitted, DbError>>, DbError> {
    let c = Columns::of(group);
    let rows = sqlx::query!(
        r#"with decided as materialized (
             select d.*, set_config('synchronous_commit', 'off', true) as commits_unflushed
             from admit_decide($2::uuid[], $4::uuid[], $8::text[], $21::int4[], $22::text[],
                               $23::float8[], $24::float8[]) d
           ),
           input as (
             select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                                  $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::text[],
                                  $11::int4[], $12::float8[], $13::int4[], $14::uuid[],
                                  $15::text[], $16::text[], $17::bytea[], $18::bytea[],
                                  $19::bytea[], $20::bytea[])
               with ordinality as i(id, workspace_id, creator, token, template_name, snapshot,
                                    template_hash, idempotency_key, request_hash, cleanup,
                                    duration, spend, max_attempts, secret_id, trace_parent,
                                    key_id, wrapped_key, wrap_nonce, ciphertext, nonce, ord)
           ),
           run as (
             insert into runs
               (id, workspace_id, creator_app_user_id, api_token_id, template_name,
                template_snapshot, template_hash, idempotency_key, request_hash, cleanup_policy,
                max_duration_seconds, max_spend_usd, max_attempts, execution_secret_id,
                trace_parent)
             select i.id, i.workspace_id, i.creator, i.token, i.template_name, i.snapshot,
                    i.template_hash, i.idempotency_key, i.request_hash, i.cleanup,
                    least(i.duration, d.max_run_duration_seconds), i.spend::numeric,
                    i.max_attempts, i.secret_id, i.trace_parent
             from input i join decided d on d.ord = i.ord
             where d.decision = 'admit'
             order by i.ord
             on conflict (workspace_id, idempotency_key) where idempotency_key is not null
             do nothing
             returning id
           ),
           secret as (
             insert into run_secrets
               (id, run_id, key_id, wrapped_key, wrap_nonce, ciphertext, nonce)
             select i.secret_id, run.id, i.key_id, i.wrapped_key, i.wrap_nonce, i.ciphertext,
                    i.nonce
             from run join input i on i.id = run.id
           )
           select d.ord as "ord!", d.decision as "decision!: Decision",
                  d.max_active_runs, d.max_active_runs_per_token, d.max_run_duration_seconds,
                  exists (select 1 from run where run.id = i.id) as "created!"
           from decided d join input i on i.ord = d.ord
           order by d.ord"#,
        &c.ids as &[Uuid],
        &c.workspaces as &[Uuid],
        &c.creators as &[Uuid],
        &c.tokens as &[Option<Uuid>],
        &c.template_names as &[&str],
        &c.snapshots as &[&serde_json::Value],
        &c.template_hashes as &[&str],
        &c.keys as &[Option<&str>],
        &c.request_hashes as &[&str],
        &c.cleanups as &[&str],
        &c.durations as &[i32],
        &c.spends as &[Option<f64>],
        &c.max_attempts as &[i32],
        &c.secret_ids as &[Uuid],
        &c.trace_parents as &[Option<&str>],
        &c.key_ids as &[&str],
        &c.wrapped_keys as &[&[u8]],
        &c.wrap_nonces as &[&[u8]],
        &c.ciphertexts as &[&[u8]],
        &c.nonces as &[&[u8]],
        &c.explicit_durations as &[Option<i32>],
        &c.bucket_keys as &[&str],
        &c.capacities as &[f64],
        &c.refills as &[f64],
    )
    .fetch_all(db)
    .await?;
    if rows.len() != group.len() {
        return Err(DbError::Sqlx(sqlx::Error::Protocol(format!(
            "admitted {} of a group of {}",
            rows.len(),
            group.len()
        ))));
    }
    let mut outcomes = Vec::with_capacity(group.len());
    // The rows a bucket refused share one wait: read it once per bucket, not once per row.
    let mut waits: HashMap<&str, std::time::Duration> = HashMap::new();
    for (admission, row) in group.iter().zip(rows) {
        let caps = Caps {
            workspace: row.max_active_runs,
            token: row.max_active_runs_per_token,
            duration: row.max_run_duration_seconds,
        };
        outcomes.push(outcome(db, admission, row.decision, row.created, caps, &mut waits).await);
    }
    Ok(outcomes)
}

/// The plan's caps as the decision read them (none before the workspace lock).
struct Caps {
    workspace: Option<i32>,
    token: Option<i32>,
    duration: Option<i32>,
}

/// One admission's outcome from its decision; the refusals that need more than the decision
/// (a rate limit's wait, an existing run's id) read it here, outside the statement.
async fn outcome<'a>(
    db: &PgPool,
    admission: &'a Admission,
    decision: Decision,
    created: bool,
    caps: Caps,
    waits: &mut HashMap<&'a str, std::time::Duration>,
) -> Result<Admitted, DbError> {
    let cap = |value: Option<i32>| value.ok_or(DbError::Sqlx(sqlx::Error::RowNotFound));
    Ok(match decision {
        Decision::Admit if created => Admitted::Created(admission.run.id),
        // Decided but not inserted: a key that a run took after the decision's check, which
        // the workspace lock rules out for admissions; told like any existing key.
        Decision::Admit | Decision::Existing => return existing(db, admission).await,
        Decision::RateLimited => return rate_limited(db, &admission.bucket, waits).await,
        Decision::Inactive => Admitted::WorkspaceInactive,
        Decision::DurationOver => Admitted::DurationOverCap(cap(caps.duration)?),
        Decision::OverWorkspace => Admitted::OverWorkspaceCap(cap(caps.workspace)?),
        Decision::OverToken => Admitted::OverTokenCap(cap(caps.token)?),
    })
}

/// [`Admitted::RateLimited`] with the bucket's wait, read once per bucket of a group (`waits`).
async fn rate_limited<'a>(
    db: &PgPool,
    bucket: &'a SubmitBucket,
    waits: &mut HashMap<&'a str, std::time::Duration>,
) -> Result<Admitted, DbError> {
    let wait = match waits.get(bucket.key.as_str()) {
        Some(wait) => *wait,
        None => {
            let wait =
                crate::rate_limits::time_until_available(db, &bucket.key, bucket.spec, 1.0).await?;
            waits.insert(&bucket.key, wait);
            wait
        }
    };
    Ok(Admitted::RateLimited(wait))
}

/// The run an admission's idempotency key names: [`Admitted::Existing`] when it came from the
/// same request, a conflict when not.
async fn existing(db: &PgPool, admission: &Admission) -> Result<Admitted, DbError> {
    let run = &admission.run;
    let key = run
        .idempotency_key
        .as_deref()
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    let (id, hash) = crate::run_reads::find_by_idempotency_key(db, run.workspace_id, key)
        .await?
        .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))?;
    if hash == run.request_hash {
        Ok(Admitted::Existing(id))
    } else {
        Err(DbError::IdempotencyConflict)
    }
}

/// A group as the statement's parallel arrays.
struct Columns<'a> {
    ids: Vec<Uuid>,
    workspaces: Vec<Uuid>,
    creators: Vec<Uuid>,
    tokens: Vec<Option<Uuid>>,
    template_names: Vec<&'a str>,
    snapshots: Vec<&'a serde_json::Value>,
    template_hashes: Vec<&'a str>,
    keys: Vec<Option<&'a str>>,
    request_hashes: Vec<&'a str>,
    cleanups: Vec<&'static str>,
    durations: Vec<i32>,
    spends: Vec<Option<f64>>,
    max_attempts: Vec<i32>,
    secret_ids: Vec<Uuid>,
    trace_parents: Vec<Option<&'a str>>,
    key_ids: Vec<&'a str>,
    wrapped_keys: Vec<&'a [u8]>,
    wrap_nonces: Vec<&'a [u8]>,
    ciphertexts: Vec<&'a [u8]>,
    nonces: Vec<&'a [u8]>,
    explicit_durations: Vec<Option<i32>>,
    bucket_keys: Vec<&'a str>,
    capacities: Vec<f64>,
    refills: Vec<f64>,
}

impl<'a> Columns<'a> {
    fn of(group: &'a [Admission]) -> Self {
        Self {
            ids: column(group, |a| a.run.id.as_uuid()),
            workspaces: column(group, |a| a.run.workspace_id.as_uuid()),
            creators: column(group, |a| a.run.creator.as_uuid()),
            tokens: column(group, |a| a.run.api_token_id.as_ref().map(TokenId::as_uuid)),
            template_names: column(group, |a| a.run.template_name.as_str()),
            snapshots: column(group, |a| &a.run.template_snapshot),
            template_hashes: column(group, |a| a.run.template_hash.as_str()),
            keys: column(group, |a| a.run.idempotency_key.as_deref()),
            request_hashes: column(group, |a| a.run.request_hash.as_str()),
            cleanups: column(group, |a| a.run.cleanup_policy.as_str()),
            durations: column(group, |a| a.run.max_duration_seconds),
            spends: column(group, |a| a.run.max_spend_usd),
            max_attempts: column(group, |a| a.run.max_attempts),
            secret_ids: column(group, |a| a.secret.id.as_uuid()),
            trace_parents: column(group, |a| a.trace_parent.as_deref()),
            key_ids: column(group, |a| a.secret.key_id.as_str()),
            wrapped_keys: column(group, |a| a.secret.wrapped_key.as_slice()),
            wrap_nonces: column(group, |a| a.secret.wrap_nonce.as_slice()),
            ciphertexts: column(group, |a| a.secret.ciphertext.as_slice()),
            nonces: column(group, |a| a.secret.nonce.as_slice()),
            explicit_durations: column(group, |a| a.explicit_duration),
            bucket_keys: column(group, |a| a.bucket.key.as_str()),
            capacities: column(group, |a| a.bucket.spec.capacity),
            refills: column(group, |a| a.bucket.spec.refill_per_second),
        }
    }
}

/// One field of every admission of the group, in order.
fn column<'a, T>(group: &'a [Admission], field: impl Fn(&'a Admission) -> T) -> Vec<T> {
    group.iter().map(field).collect()
}
