//! The simulator's list prices and session budgets.
//!
//! List cost is tracked exactly, in micro-cents (10⁻⁶ cent), from the session's cumulative
//! tokens and its agent's model; sessions and `session.usage` events report it rounded to
//! whole cents, as the API does. A budget is checked between model requests: once the exact
//! list cost reaches `max_list_cost`, the next request is not issued and the session goes
//! idle with `budget_reached` (so the final cost can land one request past the budget).
//!
//! The prices are the simulator's own table, modelled on Anthropic's public per-million-token
//! list prices by model family (cache reads at a tenth of input, 5-minute cache writes at
//! 1.25×, 1-hour writes at 2×); they are plausible, not authoritative. A model outside the
//! table has no list price, so a budget cannot measure it (`model_not_budgetable`).

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// Prices of one model family, in US cents per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// Uncached input.
    pub input: u64,
    /// Output.
    pub output: u64,
    /// Cache reads.
    pub cache_read: u64,
    /// 5-minute cache writes.
    pub cache_write_5m: u64,
    /// 1-hour cache writes.
    pub cache_write_1h: u64,
}

impl Price {
    /// A family priced `input`/`output` cents per million tokens, cache rates derived.
    const fn of(input: u64, output: u64) -> Self {
        Self {
            input,
            output,
            cache_read: input / 10,
            cache_write_5m: input * 5 / 4,
            cache_write_1h: input * 2,
        }
    }
}

/// Model id prefixes and their prices, most specific first.
const TABLE: &[(&str, Price)] = &[
    ("claude-opus-4-0", Price::of(1500, 7500)),
    ("claude-opus-4-1", Price::of(1500, 7500)),
    ("claude-opus-4-2025", Price::of(1500, 7500)),
    ("claude-opus-", Price::of(500, 2500)),
    ("claude-sonnet-", Price::of(300, 1500)),
    ("claude-haiku-3", Price::of(80, 400)),
    ("claude-haiku-", Price::of(100, 500)),
];

/// Micro-cents in one cent.
const MICRO: u64 = 1_000_000;

/// The list price of `model`, if it has one.
pub fn price_of(model: &str) -> Option<Price> {
    TABLE
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, price)| *price)
}

/// The model id of a session's agent snapshot (`model` is `{id, …}` or a bare id).
pub fn model_of(session: &Value) -> &str {
    let model = &session["agent"]["model"];
    model
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| model.as_str())
        .unwrap_or_default()
}

/// The exact list cost of a session's cumulative `usage`, in micro-cents; `None` when its
/// model has no list price.
pub fn exact_cost(session: &Value) -> Option<u64> {
    let price = price_of(model_of(session))?;
    let usage = &session["usage"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Some(
        n(&usage["input_tokens"]) * price.input
            + n(&usage["output_tokens"]) * price.output
            + n(&usage["cache_read_input_tokens"]) * price.cache_read
            + n(&usage["cache_creation"]["ephemeral_5m_input_tokens"]) * price.cache_write_5m
            + n(&usage["cache_creation"]["ephemeral_1h_input_tokens"]) * price.cache_write_1h,
    )
}

/// A `USD` amount of `micro_cents`, rounded to the nearest whole cent.
pub fn usd(micro_cents: u64) -> Value {
    let cents = (micro_cents + MICRO / 2) / MICRO;
    json!({ "amount": cents.to_string(), "currency": "USD" })
}

/// Refreshes `usage.list_cost` from the tokens (left absent for an unpriced model).
pub fn refresh_list_cost(session: &mut Value) {
    if let Some(cost) = exact_cost(session) {
        session["usage"]["list_cost"] = usd(cost);
    }
}

/// The budget ceiling of a session, in micro-cents; `None` when uncapped.
pub fn ceiling(session: &Value) -> Option<u64> {
    session["budget"]["max_list_cost"]["amount"]
        .as_str()
        .and_then(|a| a.parse::<u64>().ok())
        .map(|cents| cents.saturating_mul(MICRO))
}

/// Whether the session may not issue another model request: its list cost reached its
/// budget, or it has a budget and a model with no list price.
pub fn budget_reached(session: &Value) -> bool {
    match (ceiling(session), exact_cost(session)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(limit), Some(cost)) => cost >= limit,
    }
}

/// Reads a `budget` parameter: `{type:"limit", max_list_cost:{amount, currency:"USD"}}` with
/// `amount` a positive whole number of cents written without leading zeros. Returns the
/// budget as stored and its ceiling in micro-cents.
pub fn parse_budget(value: &Value) -> ApiResult<(Value, u64)> {
    let Some(map) = value.as_object() else {
        return Err(ApiError::invalid("budget: Input should be an object"));
    };
    if map.get("type").and_then(Value::as_str) != Some("limit") {
        return Err(ApiError::invalid("budget.type: Input should be 'limit'"));
    }
    let cost = map
        .get("max_list_cost")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::invalid("budget.max_list_cost: Field required"))?;
    let amount = match cost.get("amount") {
        Some(Value::String(a)) => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "budget.max_list_cost.amount: Input should be a valid string",
            ));
        }
        None => {
            return Err(ApiError::invalid(
                "budget.max_list_cost.amount: Field required",
            ));
        }
    };
    let well_formed = !amount.is_empty()
        && amount.bytes().all(|b| b.is_ascii_digit())
        && !amount.starts_with('0');
    let cents = amount.parse::<u64>().ok().filter(|_| well_formed);
    let cents = cents.ok_or_else(|| {
        ApiError::invalid(
            "budget.max_list_cost.amount: must be a positive whole number of minor units with no leading zeros",
        )
    })?;
    if cost.get("currency").and_then(Value::as_str) != Some("USD") {
        return Err(ApiError::invalid(
            "budget.max_list_cost.currency: Input should be 'USD'",
        ));
    }
    let stored = json!({
        "type": "limit",
        "max_list_cost": { "amount": cents.to_string(), "currency": "USD" },
    });
    Ok((stored, cents.saturating_mul(MICRO)))
}

/// 400 for a budget on a session whose model has no list price.
pub fn not_budgetable(model: &str) -> ApiError {
    ApiError::invalid(format!(
        "budget: model {model} has no public list price, so a budget cannot measure it"
    ))
    .with_code("model_not_budgetable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(model: &str, input: u64, output: u64, budget: Option<&str>) -> Value {
        json!({
            "agent": { "model": { "id": model } },
            "usage": { "input_tokens": input, "output_tokens": output },
            "budget": budget.map(|a| json!({"type": "limit", "max_list_cost": {"amount": a, "currency": "USD"}})),
        })
    }

    #[test]
    fn cost_follows_the_model_family_price() {
        // 1M input + 1M output tokens of a sonnet: $3 + $15.
        let s = session("claude-sonnet-4-6", 1_000_000, 1_000_000, None);
        assert_eq!(exact_cost(&s), Some(1800 * MICRO));
        let s = session("claude-haiku-4-5", 1_000_000, 0, None);
        assert_eq!(exact_cost(&s), Some(100 * MICRO));
        assert_eq!(exact_cost(&session("claude-x", 1, 1, None)), None);
    }

    #[test]
    fn reported_cost_is_rounded_to_the_nearest_cent() {
        assert_eq!(usd(MICRO / 2 - 1)["amount"], "0");
        assert_eq!(usd(MICRO / 2)["amount"], "1");
        assert_eq!(usd(531 * MICRO / 100)["amount"], "5");
    }

    #[test]
    fn the_budget_is_reached_at_its_ceiling_or_with_an_unpriced_model() {
        // 1200 in + 350 out on a sonnet is 0.885 cents.
        let one = session("claude-sonnet-4-5", 1200, 350, Some("1"));
        assert!(!budget_reached(&one));
        let two = session("claude-sonnet-4-5", 2400, 700, Some("1"));
        assert!(budget_reached(&two));
        assert!(budget_reached(&session("claude-x", 0, 0, Some("100"))));
        assert!(!budget_reached(&session("claude-x", 0, 0, None)));
    }

    #[test]
    fn budgets_are_read_as_the_sdk_defines_them() {
        let ok = json!({"type": "limit", "max_list_cost": {"amount": "2500", "currency": "USD"}});
        assert_eq!(parse_budget(&ok).map(|(_, c)| c).ok(), Some(2500 * MICRO));
        for bad in [
            json!({"type": "limit", "max_list_cost": {"amount": 25, "currency": "USD"}}),
            json!({"type": "limit", "max_list_cost": {"amount": "25.00", "currency": "USD"}}),
            json!({"type": "limit", "max_list_cost": {"amount": "025", "currency": "USD"}}),
            json!({"type": "limit", "max_list_cost": {"amount": "0", "currency": "USD"}}),
            json!({"type": "limit", "max_list_cost": {"amount": "25", "currency": "EUR"}}),
            json!({"type": "cap", "max_list_cost": {"amount": "25", "currency": "USD"}}),
            json!({"type": "limit"}),
        ] {
            assert!(parse_budget(&bad).is_err(), "{bad}");
        }
    }
}
