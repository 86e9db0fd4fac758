//! Spend as the provider reports it, for `observe`: the session's cumulative `usage` (on
//! retrieve) and the latest `session.usage` snapshot, merged field by field (each only ever
//! grows), and the user-facing reason of a `budget_reached` stop.

use antpath_db::observation::{ProviderUsage, Tokens};
use antpath_provider::types::event::{EventKind, SessionEvent};
use antpath_provider::types::session::{Session, SessionUsage};
use antpath_provider::types::usage::{BudgetKind, BudgetLimit, MonetaryAmount};

/// The provider's cumulative usage of a session: the larger of each figure between the
/// session's `usage` and the latest `session.usage` event among `fresh` (either may be the
/// newer). `None` when neither reports anything.
pub fn provider_usage(session: &Session, fresh: &[SessionEvent]) -> Option<ProviderUsage> {
    let snapshot = fresh.iter().rev().find_map(|e| match &e.kind {
        EventKind::SessionUsage(u) => Some(&u.usage),
        _ => None,
    });
    let from_session = session.usage.as_ref().map(read);
    let from_event = snapshot.map(read);
    match (from_session, from_event) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) => Some(larger(a, b)),
    }
}

fn read(usage: &SessionUsage) -> ProviderUsage {
    let count = |n: Option<u64>| i64::try_from(n.unwrap_or(0)).unwrap_or(i64::MAX);
    let tools = usage.server_tool_use.clone().unwrap_or_default();
    ProviderUsage {
        tokens: Tokens {
            input: count(usage.input_tokens),
            output: count(usage.output_tokens),
            cache_read: count(usage.cache_read_input_tokens),
            cache_creation: count(usage.cache_creation.as_ref().map(|c| c.total())),
        },
        list_cost_micro_usd: usage.list_cost.as_ref().and_then(|c| c.usd_micros()),
        active_seconds: usage.active_seconds.filter(|s| s.is_finite() && *s >= 0.0),
        web_search_requests: count(tools.web_search_requests),
        web_fetch_requests: count(tools.web_fetch_requests),
    }
}

fn larger(a: ProviderUsage, b: ProviderUsage) -> ProviderUsage {
    let opt_max = |x: Option<i64>, y: Option<i64>| x.max(y);
    ProviderUsage {
        tokens: Tokens {
            input: a.tokens.input.max(b.tokens.input),
            output: a.tokens.output.max(b.tokens.output),
            cache_read: a.tokens.cache_read.max(b.tokens.cache_read),
            cache_creation: a.tokens.cache_creation.max(b.tokens.cache_creation),
        },
        list_cost_micro_usd: opt_max(a.list_cost_micro_usd, b.list_cost_micro_usd),
        active_seconds: match (a.active_seconds, b.active_seconds) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        },
        web_search_requests: a.web_search_requests.max(b.web_search_requests),
        web_fetch_requests: a.web_fetch_requests.max(b.web_fetch_requests),
    }
}

/// The budget of the run's next provider session: what is left of `max_spend_usd` after the
/// list cost earlier attempts' sessions reported, in whole cents rounded down (so the attempts
/// together never exceed the limit by more than the provider's own overshoot). `Ok(None)`
/// without a limit; `Err` with the user's reason when less than a cent is left.
pub fn session_budget(
    max_spend_usd: Option<f64>,
    spent_micro_usd: Option<i64>,
) -> Result<Option<BudgetLimit>, String> {
    let Some(limit) = max_spend_usd.filter(|l| l.is_finite() && *l > 0.0) else {
        return Ok(None);
    };
    #[expect(
        clippy::cast_precision_loss,
        reason = "a run's cost in micro-dollars is far below 2^53"
    )]
    let spent = spent_micro_usd.unwrap_or(0).max(0) as f64 / 1_000_000.0;
    // Rounded first so that a limit like $0.29 is 29 cents, not 28.999… floored to 28.
    let left = ((limit - spent) * 100.0 * 1e6).round() / 1e6;
    if left < 1.0 {
        return Err(budget_reason(Some(limit)));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive amount of cents bounded by the template's limit"
    )]
    let cents = left.floor() as u64;
    Ok(Some(BudgetLimit {
        kind: BudgetKind::Limit,
        max_list_cost: MonetaryAmount::usd_cents(cents),
    }))
}

/// What a user reads when a run stops at its spend limit.
pub fn budget_reason(max_spend_usd: Option<f64>) -> String {
    match max_spend_usd {
        Some(limit) => format!(
            "The run reached its spend limit of ${limit:.2}; raise maxSpendUsd to let it do more."
        ),
        None => "The run reached the spend limit set on its provider session.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session(usage: serde_json::Value) -> Session {
        serde_json::from_value(json!({"id": "sesn_1", "status": "idle", "usage": usage}))
            .expect("session")
    }

    #[test]
    fn the_latest_usage_event_and_the_session_merge_field_by_field() {
        let s = session(json!({
            "input_tokens": 100, "output_tokens": 10,
            "list_cost": {"amount": "3", "currency": "USD"}, "active_seconds": 2.0,
        }));
        let events: Vec<SessionEvent> = serde_json::from_value(json!([
            {"id": "e1", "type": "session.usage", "usage": {"input_tokens": 50, "list_cost": {"amount": "1", "currency": "USD"}}},
            {"id": "e2", "type": "session.usage", "usage": {"input_tokens": 150, "output_tokens": 5,
                "cache_creation": {"ephemeral_5m_input_tokens": 7},
                "server_tool_use": {"web_search_requests": 2},
                "list_cost": {"amount": "4", "currency": "USD"}}},
        ]))
        .expect("events");
        let usage = provider_usage(&s, &events).expect("usage");
        assert_eq!(usage.tokens.input, 150);
        assert_eq!(usage.tokens.output, 10);
        assert_eq!(usage.tokens.cache_creation, 7);
        assert_eq!(usage.list_cost_micro_usd, Some(40_000));
        assert_eq!(usage.active_seconds, Some(2.0));
        assert_eq!(usage.web_search_requests, 2);
    }

    #[test]
    fn a_session_without_usage_reports_nothing() {
        let s: Session =
            serde_json::from_value(json!({"id": "sesn_1", "status": "idle"})).expect("session");
        assert_eq!(provider_usage(&s, &[]), None);
    }

    #[test]
    fn a_later_attempt_gets_only_what_is_left_of_the_limit() {
        let cents = |b: Result<Option<BudgetLimit>, String>| {
            b.expect("a budget").map(|b| b.max_list_cost.amount)
        };
        assert_eq!(cents(session_budget(None, Some(5))), None);
        assert_eq!(cents(session_budget(Some(0.29), None)), Some("29".into()));
        assert_eq!(
            cents(session_budget(Some(0.5), Some(120_000))),
            Some("38".into())
        );
        assert_eq!(
            cents(session_budget(Some(0.5), Some(125_000))),
            Some("37".into())
        );
        assert!(session_budget(Some(0.5), Some(495_000)).is_err());
        assert!(session_budget(Some(0.5), Some(900_000)).is_err());
    }

    #[test]
    fn the_budget_reason_names_the_limit_in_dollars() {
        assert_eq!(
            budget_reason(Some(0.5)),
            "The run reached its spend limit of $0.50; raise maxSpendUsd to let it do more."
        );
    }
}
