//! Durable token buckets shared by every replica.
//!
//! A bucket is a row of `rate_limit_buckets` named by what it limits (`submit:ws_…`,
//! `provider:<key hash>`). Taking from it is one `INSERT … ON CONFLICT DO UPDATE … WHERE`
//! statement (the SQL function `rate_limit_reserve`, which a submission's admitting statement
//! also calls) that refills the bucket from the time elapsed since its last update and spends
//! `cost` only if enough is there, so concurrent replicas can never overspend and no lock is
//! held across statements. A bucket can also be paused until a point in time (a provider's
//! `retry-after`), which stops every replica at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// The shape of a bucket: how many tokens it holds when full and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSpec {
    /// Tokens when full (the largest burst).
    pub capacity: f64,
    /// Tokens added per second.
    pub refill_per_second: f64,
}

impl BucketSpec {
    /// A bucket allowing `per_minute` operations a minute, with a burst of the same size.
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            capacity: f64::from(per_minute),
            refill_per_second: f64::from(per_minute) / 60.0,
        }
    }

    /// A bucket allowing `per_second` operations a second, with a burst of the same size.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            capacity: f64::from(per_second),
            refill_per_second: f64::from(per_second),
        }
    }
}

/// The result of a take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Take {
    /// The tokens were spent.
    Allowed,
    /// Not enough tokens (or the bucket is paused); try again after this long.
    Limited {
        /// When enough tokens will be there.
        retry_after: Duration,
    },
}

/// Spends `cost` tokens from bucket `key` if it has them: a [`reserve`] that allows no debt.
#[tracing::instrument(skip_all, fields(bucket = key))]
pub async fn take(
    db: impl PgExecutor<'_> + Copy,
    key: &str,
    spec: BucketSpec,
    cost: f64,
) -> Result<Take, sqlx::Error> {
    Ok(match reserve(db, key, spec, cost, Duration::ZERO).await? {
        Reservation::Granted { .. } => Take::Allowed,
        Reservation::Limited { retry_after } => Take::Limited { retry_after },
    })
}

/// How long until bucket `key` holds `cost` tokens and is not paused; at least a millisecond.
pub async fn time_until_available(
    db: impl PgExecutor<'_>,
    key: &str,
    spec: BucketSpec,
    cost: f64,
) -> Result<Duration, sqlx::Error> {
    let state = sqlx::query!(
        r#"select least($2::float8, tokens
                  + extract(epoch from now() - updated_at)::float8 * $3::float8) as "available!",
                  extract(epoch from blocked_until - now())::float8 as blocked_for
           from rate_limit_buckets where key = $1"#,
        key,
        spec.capacity,
        spec.refill_per_second,
    )
    .fetch_optional(db)
    .await?;
    let Some(state) = state else {
        // The row vanished between the two statements (a cleanup pass); let the caller retry.
        return Ok(Duration::from_millis(100));
    };
    let refill_wait = if spec.refill_per_second > 0.0 {
        ((cost - state.available) / spec.refill_per_second).max(0.0)
    } else {
        f64::from(u32::MAX)
    };
    let wait = refill_wait.max(state.blocked_for.unwrap_or(0.0)).max(0.001);
    Ok(Duration::from_secs_f64(wait))
}

/// The result of a reservation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reservation {
    /// The tokens are the caller's; use them after `wait` (zero when they were there).
    Granted {
        /// How long until the reserved tokens are refilled.
        wait: Duration,
    },
    /// The bucket owes more than the caller would wait for (or is paused): nothing was taken;
    /// ask again after this long.
    Limited {
        /// When the debt will be paid (or the pause over).
        retry_after: Duration,
    },
}

/// Reserves `cost` tokens from bucket `key`, letting the bucket go into debt by up to
/// `max_wait` of refill. Unlike [`take`], waiters are served in the order they asked: each
/// gets its own slot in the refill instead of all racing for the next token, so a crowd of
/// callers on one hot bucket costs one statement each, not one per refill tick.
#[tracing::instrument(skip_all, fields(bucket = key))]
pub async fn reserve(
    db: impl PgExecutor<'_> + Copy,
    key: &str,
    spec: BucketSpec,
    cost: f64,
    max_wait: Duration,
) -> Result<Reservation, sqlx::Error> {
    let max_debt = max_wait.as_secs_f64() * spec.refill_per_second;
    let left = sqlx::query_scalar!(
        r#"select rate_limit_reserve($1, $2, $3, $4, $5) as "left""#,
        key,
        spec.capacity,
        spec.refill_per_second,
        cost,
        max_debt,
    )
    .fetch_one(db)
    .await?;
    if let Some(left) = left {
        let wait = if left < 0.0 && spec.refill_per_second > 0.0 {
            -left / spec.refill_per_second
        } else {
            0.0
        };
        return Ok(Reservation::Granted {
            wait: Duration::from_secs_f64(wait),
        });
    }
    // Refused: the debt is at its bound and the callers holding it are sleeping through it,
    // so ask again once it is paid (a pause makes that later). Asking as soon as one slot
    // frees would have every refused caller come back at once.
    Ok(Reservation::Limited {
        retry_after: time_until_available(db, key, spec, cost).await?,
    })
}

/// Pauses bucket `key` until `until` (for example a provider's `retry-after`), for every
/// replica. A later pause never shortens an earlier, longer one.
#[tracing::instrument(skip_all, fields(bucket = key))]
pub async fn pause_until(
    db: impl PgExecutor<'_>,
    key: &str,
    spec: BucketSpec,
    until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into rate_limit_buckets as b (key, tokens, updated_at, blocked_until)
         values ($1, $2, now(), $3)
         on conflict (key) do update set blocked_until = greatest(b.blocked_until, excluded.blocked_until)",
        key,
        spec.capacity,
        until,
    )
    .execute(db)
    .await?;
    Ok(())
}
