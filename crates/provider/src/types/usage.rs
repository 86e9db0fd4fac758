//! Spend and usage on the wire: a session's `budget` (a hard list-cost ceiling), its
//! cumulative `usage` (tokens, `list_cost`, active seconds, server tool use) and its `stats`.
//!
//! Shapes follow the official SDK (`anthropic` 2.10.0): `BetaManagedAgentsBudgetLimit`,
//! `BetaMonetaryAmount` (amount in minor units as an integer decimal string, currency `USD`),
//! `BetaManagedAgentsSessionUsage`, `BetaManagedAgentsSessionStats` and
//! `BetaManagedAgentsServerToolUsage`.

use serde::{Deserialize, Serialize};

use super::{Extra, open_str_enum};

open_str_enum! {
    /// An ISO-4217 currency code; `USD` is the only one the API prices today.
    pub enum Currency {
        /// US dollars (minor unit: the cent).
        "USD" => Usd,
    }
}

/// A monetary amount: `amount` is a whole number of minor units (cents for `USD`) written as
/// a decimal string with no leading zeros, so no float rounding ever applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonetaryAmount {
    /// Minor units, e.g. `"2500"` is $25.00.
    pub amount: String,
    /// The currency.
    pub currency: Currency,
}

impl MonetaryAmount {
    /// `cents` US cents.
    pub fn usd_cents(cents: u64) -> Self {
        Self {
            amount: cents.to_string(),
            currency: Currency::Usd,
        }
    }

    /// The amount in micro-dollars when it is a readable `USD` amount; `None` otherwise
    /// (another currency, or an amount that is not a whole number).
    pub fn usd_micros(&self) -> Option<i64> {
        if self.currency != Currency::Usd {
            return None;
        }
        let cents: i64 = self.amount.parse().ok()?;
        cents.checked_mul(MICROS_PER_CENT)
    }
}

/// Micro-dollars in one cent.
pub const MICROS_PER_CENT: i64 = 10_000;

/// The kind of a session budget; `limit` is the only one the API defines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// A hard ceiling: no new model request once the list cost reaches it.
    #[default]
    Limit,
}

/// `budget` of a session: the provider stops issuing model requests once the session's list
/// cost reaches `max_list_cost`, and the session goes idle with `budget_reached`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLimit {
    /// Always `limit`.
    #[serde(rename = "type")]
    pub kind: BudgetKind,
    /// The ceiling, priced at public list rates.
    pub max_list_cost: MonetaryAmount,
}

impl BudgetLimit {
    /// The budget of a `max_spend_usd` limit: rounded to the nearest cent, and never below
    /// one cent (the API rejects zero). `None` for a limit that is not a finite positive
    /// number.
    pub fn from_usd(max_spend_usd: f64) -> Option<Self> {
        if !max_spend_usd.is_finite() || max_spend_usd <= 0.0 {
            return None;
        }
        // The template bounds the limit to [0.01, 1e6], far inside u64 cents.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a finite positive dollar amount bounded by the template"
        )]
        let cents = (max_spend_usd * 100.0).round().max(1.0) as u64;
        Some(Self {
            kind: BudgetKind::Limit,
            max_list_cost: MonetaryAmount::usd_cents(cents),
        })
    }
}

/// Prompt-cache creation tokens by cache lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreationUsage {
    /// Tokens written to 1-hour cache entries.
    #[serde(default)]
    pub ephemeral_1h_input_tokens: Option<u64>,
    /// Tokens written to 5-minute cache entries.
    #[serde(default)]
    pub ephemeral_5m_input_tokens: Option<u64>,
}

impl CacheCreationUsage {
    /// Both lifetimes together.
    pub fn total(&self) -> u64 {
        self.ephemeral_1h_input_tokens.unwrap_or(0) + self.ephemeral_5m_input_tokens.unwrap_or(0)
    }
}

/// Server-executed tool invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerToolUsage {
    /// Web fetch requests.
    #[serde(default)]
    pub web_fetch_requests: Option<u64>,
    /// Web search requests.
    #[serde(default)]
    pub web_search_requests: Option<u64>,
}

/// Cumulative usage of a session (on the session, and in each `session.usage` event); every
/// field is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Input tokens read from cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// Tokens written to cache, by lifetime.
    #[serde(default)]
    pub cache_creation: Option<CacheCreationUsage>,
    /// Cumulative list cost, rounded to whole cents; absent until the provider tracks it.
    #[serde(default)]
    pub list_cost: Option<MonetaryAmount>,
    /// Seconds with at least one thread running: what runtime is priced on.
    #[serde(default)]
    pub active_seconds: Option<f64>,
    /// Server tool invocations.
    #[serde(default)]
    pub server_tool_use: Option<ServerToolUsage>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Timing of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Seconds in `running`, summed over threads.
    #[serde(default)]
    pub active_seconds: Option<f64>,
    /// Seconds since creation (frozen once terminated).
    #[serde(default)]
    pub duration_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_dollar_limit_becomes_a_budget_in_whole_cents() {
        let budget = BudgetLimit::from_usd(0.5).expect("budget");
        assert_eq!(
            serde_json::to_value(&budget).expect("json"),
            json!({"type": "limit", "max_list_cost": {"amount": "50", "currency": "USD"}})
        );
        assert_eq!(
            BudgetLimit::from_usd(12.345).map(|b| b.max_list_cost.amount),
            Some("1235".into())
        );
        assert_eq!(
            BudgetLimit::from_usd(0.001).map(|b| b.max_list_cost.amount),
            Some("1".into())
        );
        assert!(BudgetLimit::from_usd(0.0).is_none());
        assert!(BudgetLimit::from_usd(f64::NAN).is_none());
    }

    #[test]
    fn a_list_cost_reads_as_micro_dollars_only_in_usd() {
        assert_eq!(MonetaryAmount::usd_cents(53).usd_micros(), Some(530_000));
        let euros = MonetaryAmount {
            amount: "53".into(),
            currency: Currency::from("EUR"),
        };
        assert_eq!(euros.usd_micros(), None);
    }

    #[test]
    fn usage_reads_every_field_the_sdk_models() {
        let usage: SessionUsage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 2,
            "cache_creation": {"ephemeral_1h_input_tokens": 1, "ephemeral_5m_input_tokens": 3},
            "list_cost": {"amount": "7", "currency": "USD"}, "active_seconds": 1.5,
            "server_tool_use": {"web_fetch_requests": 1, "web_search_requests": 2},
        }))
        .expect("usage");
        assert_eq!(
            usage.cache_creation.as_ref().map(CacheCreationUsage::total),
            Some(4)
        );
        assert_eq!(usage.list_cost.and_then(|c| c.usd_micros()), Some(70_000));
        assert_eq!(usage.active_seconds, Some(1.5));
        assert_eq!(
            usage.server_tool_use.and_then(|s| s.web_search_requests),
            Some(2)
        );
    }
}
