//! The last write of runs whose cleanup is over, for many runs in one statement.
//!
//! A run's closing records its last cleanup round (one `cleanup_attempts` row per action and
//! the new state of each resource it touched), destroys its secrets and records that, ends its
//! cleanup (phase `done`, lease released) and closes its open attempts. [`close_many`] does
//! that for a whole batch of runs in one statement, so the worker's finisher pays one round
//! trip and one statement's overhead for the batch instead of half a dozen per run.
//!
//! Every run is fenced by its own lease token: a run whose lease was lost is left untouched
//! (none of its rows are written) and is missing from the returned ids.

use antpath_types::{CleanupState, ErrorClass, ResourceId, ResourceState, RunId, RunStatus};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::lifecycle::{Fence, bounded_message};

/// How a closed run's open attempts end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptsEnd {
    /// The run succeeded.
    Succeeded,
    /// Any other outcome.
    Failed,
}

impl AttemptsEnd {
    /// How the attempts of a run with this outcome end.
    pub fn of(status: RunStatus) -> Self {
        match status {
            RunStatus::Succeeded => Self::Succeeded,
            _ => Self::Failed,
        }
    }

    /// The `run_attempts.state` written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// What one cleanup round did to one resource.
#[derive(Debug, Clone)]
pub struct RoundAction {
    /// The resource acted on.
    pub resource: ResourceId,
    /// What was done (`delete_session`, `archive_agent`, `retain`, …).
    pub action: &'static str,
    /// The resource's new state, if it changes.
    pub state: Option<ResourceState>,
    /// Why the action failed; `None` when it succeeded.
    pub error: Option<(ErrorClass, String)>,
}

impl RoundAction {
    /// The `cleanup_attempts.status` it is recorded with.
    pub fn status(&self) -> &'static str {
        if self.error.is_some() {
            "failed"
        } else {
            "succeeded"
        }
    }
}

/// One run's closing.
#[derive(Debug, Clone)]
pub struct Closing {
    /// The run and the lease that fences the write.
    pub fence: Fence,
    /// Which round of the run's cleanup this is (1-based).
    pub round: i32,
    /// The round's actions, in the order they happened.
    pub actions: Vec<RoundAction>,
    /// The cleanup state the run ends with.
    pub state: CleanupState,
    /// How the run's open attempts end.
    pub attempts_end: AttemptsEnd,
}

/// The statement's inputs as parallel arrays, one set per run and one per round action.
#[derive(Default)]
struct Columns<'a> {
    run_ids: Vec<Uuid>,
    tokens: Vec<Uuid>,
    rounds: Vec<i32>,
    states: Vec<&'static str>,
    attempts_ends: Vec<&'static str>,
    secret_record_ids: Vec<Uuid>,
    action_ids: Vec<Uuid>,
    action_runs: Vec<Uuid>,
    action_resources: Vec<Uuid>,
    action_names: Vec<&'static str>,
    action_statuses: Vec<&'static str>,
    action_classes: Vec<Option<&'static str>>,
    action_messages: Vec<Option<std::borrow::Cow<'a, str>>>,
    action_states: Vec<Option<&'static str>>,
}

impl<'a> Columns<'a> {
    fn of(closings: &'a [Closing]) -> Self {
        let mut c = Self::default();
        for closing in closings {
            let run = closing.fence.run_id.as_uuid();
            // Record ids are time-ordered: the round's actions first, then the secrets'
            // destruction, as the rows happened.
            for action in &closing.actions {
                c.action_ids.push(Uuid::now_v7());
                c.action_runs.push(run);
                c.action_resources.push(action.resource.as_uuid());
                c.action_names.push(action.action);
                c.action_statuses.push(action.status());
                c.action_classes
                    .push(action.error.as_ref().map(|(class, _)| class.as_str()));
                c.action_messages.push(
                    action
                        .error
                        .as_ref()
                        .map(|(_, message)| bounded_message(message)),
                );
                c.action_states
                    .push(action.state.map(ResourceState::as_str));
            }
            c.run_ids.push(run);
            c.tokens.push(closing.fence.token);
            c.rounds.push(closing.round);
            c.states.push(closing.state.as_str());
            c.attempts_ends.push(closing.attempts_end.as_str());
            c.secret_record_ids.push(Uuid::now_v7());
        }
        c
    }
}

/// Closes every run of `closings` whose lease is still held, in one statement; returns the
/// ids of the runs it closed (the others lost their lease and were not touched).
#[tracing::instrument(skip_all, fields(runs = closings.len()))]
pub async fn close_many(
    db: impl PgExecutor<'_>,
    closings: &[Closing],
) -> Result<Vec<RunId>, sqlx::Error> {
    let c = Columns::of(closings);
    let messages: Vec<Option<&str>> = c.action_messages.iter().map(Option::as_deref).collect();
    // One update of each run row does the fence, the secrets' unlinking and the end of
    // cleanup (a row may be updated once per statement); the other writes join on what it
    // returns, so a run that lost its lease writes nothing. When one resource was acted on
    // twice in the round, its last new state wins, as it would written one after another.
    sqlx::query_scalar!(
        r#"with closed as (
             update runs r
             set cleanup_state = i.state, cleanup_rounds = r.cleanup_rounds + 1, phase = 'done',
                 ended_at = coalesce(r.ended_at, now()), updated_at = now(), step_failures = 0,
                 execution_secret_id = null,
                 lease_owner = null, lease_token = null, lease_expires_at = null
             from unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[], $5::text[], $6::uuid[])
                  as i(id, token, round, state, attempts_end, secret_record_id)
             where r.id = i.id and r.lease_token = i.token and r.lease_expires_at > now()
             returning r.id, i.round, i.attempts_end, i.secret_record_id,
                       r.error_class, r.error_message
           ),
           actions as (
             select a.*, c.round from unnest($7::uuid[], $8::uuid[], $9::uuid[], $10::text[],
                                             $11::text[], $12::text[], $13::text[], $14::text[])
                  with ordinality
                  as a(id, run_id, resource_id, action, status, error_class, error_message,
                       new_state, ord)
             join closed c on c.id = a.run_id
           ),
           recorded as (
             insert into cleanup_attempts
               (id, run_id, resource_id, action, status, attempt_number, error_class,
                error_message)
             select a.id, a.run_id, a.resource_id, a.action, a.status, a.round, a.error_class,
                    a.error_message
             from actions a
             union all
             select c.secret_record_id, c.id, null, 'destroy_secrets', 'succeeded', c.round,
                    null, null
             from closed c
           ),
           moved as (
             update provider_resources p set state = m.new_state, updated_at = now()
             from (select distinct on (a.resource_id) a.resource_id, a.new_state
                   from actions a where a.new_state is not null
                   order by a.resource_id, a.ord desc) m
             where p.id = m.resource_id
           ),
           destroyed as (
             delete from run_secrets s using closed c where s.run_id = c.id
           ),
           attempts_closed as (
             update run_attempts a
             set state = c.attempts_end, ended_at = now(), error_class = c.error_class,
                 error_message = c.error_message
             from closed c where a.run_id = c.id and a.state = 'started'
           )
           select c.id as "id!: RunId" from closed c"#,
        &c.run_ids,
        &c.tokens,
        &c.rounds,
        &c.states as &[&str],
        &c.attempts_ends as &[&str],
        &c.secret_record_ids,
        &c.action_ids,
        &c.action_runs,
        &c.action_resources,
        &c.action_names as &[&str],
        &c.action_statuses as &[&str],
        &c.action_classes as &[Option<&str>],
        &messages as &[Option<&str>],
        &c.action_states as &[Option<&str>],
    )
    .fetch_all(db)
    .await
}

/// Closes the run's open attempts with `end` and the run's error, as [`close_many`] does: for
/// a closing that is not a batch's (an abandoned cleanup), in the caller's transaction.
pub async fn close_started_attempts(
    db: impl PgExecutor<'_>,
    run: RunId,
    end: AttemptsEnd,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update run_attempts a
         set state = $2, ended_at = now(), error_class = r.error_class,
             error_message = r.error_message
         from runs r where r.id = $1 and a.run_id = r.id and a.state = 'started'",
        run as RunId,
        end.as_str(),
    )
    .execute(db)
    .await?;
    Ok(())
}
