//! Query parsing and the page-cursor pagination every Managed Agents list uses in SDK 2.10.0.
//!
//! Request: `limit` and an opaque `page` cursor (plus `order` where the list has one).
//! Response: `{"data": [...], "next_page": "page_…" | null}`; the sessions list adds
//! `prev_page`. A cursor is `page_` + base64url of `{"o": order, "a"|"b": seq}`: the insertion
//! sequence of the last (or first) item served, so deletes between pages never skip items.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;

/// Raw query pairs, with helpers for the SDK's encodings (`x[]=a&x[]=b`, repeated `x=`, and
/// comma lists).
#[derive(Debug, Default, Clone)]
pub struct ListQuery(pub Vec<(String, String)>);

impl ListQuery {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` or `name[]`, comma lists split, empty values dropped.
    pub fn all(&self, name: &str) -> Vec<String> {
        let bracket = format!("{name}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == name || *k == bracket)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A boolean flag (`true`/`false`), `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "{name}: invalid boolean {other:?}"
            ))),
        }
    }
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// The paging rules of one list.
#[derive(Debug, Clone, Copy)]
pub struct PageSpec {
    /// `limit` when absent.
    pub default_limit: usize,
    /// Largest accepted `limit`.
    pub max_limit: usize,
    /// Order when `order` is absent.
    pub default_order: Order,
    /// Whether the list accepts `order` at all.
    pub has_order: bool,
    /// Whether the response carries `prev_page` (sessions only).
    pub prev_page: bool,
}

impl PageSpec {
    /// A list without `order`, oldest first.
    pub const fn simple(default_limit: usize, max_limit: usize) -> Self {
        Self {
            default_limit,
            max_limit,
            default_order: Order::Asc,
            has_order: false,
            prev_page: false,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    o: Order,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<u64>,
}

fn encode(cursor: &Cursor) -> String {
    let raw = serde_json::to_vec(cursor).unwrap_or_default();
    format!("page_{}", URL_SAFE_NO_PAD.encode(raw))
}

fn decode(token: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::invalid(format!("page: invalid cursor {token:?}"));
    let body = token.strip_prefix("page_").ok_or_else(bad)?;
    let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if cursor.a.is_some() == cursor.b.is_some() {
        return Err(bad());
    }
    Ok(cursor)
}

/// Parses `limit` against the list's bounds.
pub fn limit(query: &ListQuery, default: usize, max: usize) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!(
                "limit: must be an integer between 1 and {max}"
            ))),
        },
    }
}

/// Pages `items` (each with its insertion sequence, oldest first) and renders the response.
pub fn paginate(
    items: Vec<(u64, Value)>,
    query: &ListQuery,
    spec: PageSpec,
) -> Result<Value, ApiError> {
    let limit = limit(query, spec.default_limit, spec.max_limit)?;
    let asked = match (spec.has_order, query.get("order")) {
        (true, Some("asc")) => Some(Order::Asc),
        (true, Some("desc")) => Some(Order::Desc),
        (true, Some(other)) => {
            return Err(ApiError::invalid(format!("order: invalid value {other:?}")));
        }
        _ => None,
    };
    let cursor = query
        .get("page")
        .filter(|p| !p.is_empty())
        .map(decode)
        .transpose()?;
    if let (Some(cursor), Some(asked)) = (&cursor, asked)
        && cursor.o != asked
    {
        return Err(ApiError::invalid(
            "page: cursor was created with a different order",
        ));
    }
    let order = cursor
        .as_ref()
        .map(|c| c.o)
        .or(asked)
        .unwrap_or(spec.default_order);
    let mut ordered = items;
    if order == Order::Desc {
        ordered.reverse();
    }
    // Position of a sequence in traversal order: everything "before" it comes first.
    let before = |seq: u64, pivot: u64| match order {
        Order::Asc => seq < pivot,
        Order::Desc => seq > pivot,
    };
    let (start, end) = match cursor.as_ref() {
        None => (0, limit.min(ordered.len())),
        Some(Cursor { a: Some(after), .. }) => {
            let start = ordered
                .iter()
                .take_while(|(s, _)| before(*s, *after) || s == after)
                .count();
            (start, (start + limit).min(ordered.len()))
        }
        Some(Cursor { b: Some(pivot), .. }) => {
            let end = ordered
                .iter()
                .take_while(|(s, _)| before(*s, *pivot))
                .count();
            (end.saturating_sub(limit), end)
        }
        Some(_) => return Err(ApiError::invalid("page: invalid cursor")),
    };
    let next_page = (end < ordered.len() && end > start).then(|| {
        encode(&Cursor {
            o: order,
            a: Some(ordered[end - 1].0),
            b: None,
        })
    });
    let prev_page = (start > 0 && start < ordered.len()).then(|| {
        encode(&Cursor {
            o: order,
            a: None,
            b: Some(ordered[start].0),
        })
    });
    let data: Vec<Value> = ordered.drain(start..end).map(|(_, v)| v).collect();
    let mut page = json!({ "data": data, "next_page": next_page });
    if spec.prev_page {
        page["prev_page"] = json!(prev_page);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: u64) -> Vec<(u64, Value)> {
        (1..=n).map(|i| (i, json!(i))).collect()
    }

    fn q(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn walking_next_pages_visits_every_item_once() {
        let spec = PageSpec::simple(2, 10);
        let mut seen = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut pairs = vec![];
            if let Some(p) = &page {
                pairs.push(("page", p.as_str()));
            }
            let out = paginate(items(5), &q(&pairs), spec).expect("page");
            seen.extend(
                out["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|v| v.as_u64().expect("n")),
            );
            match out["next_page"].as_str() {
                Some(next) => page = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn prev_page_goes_back_in_desc_order() {
        let spec = PageSpec {
            default_order: Order::Desc,
            has_order: true,
            prev_page: true,
            ..PageSpec::simple(2, 10)
        };
        let first = paginate(items(5), &q(&[]), spec).expect("first");
        assert_eq!(first["data"], json!([5, 4]));
        assert!(first["prev_page"].is_null());
        let next = first["next_page"].as_str().expect("next").to_owned();
        let second = paginate(items(5), &q(&[("page", &next)]), spec).expect("second");
        assert_eq!(second["data"], json!([3, 2]));
        let prev = second["prev_page"].as_str().expect("prev").to_owned();
        let back = paginate(items(5), &q(&[("page", &prev)]), spec).expect("back");
        assert_eq!(back["data"], json!([5, 4]));
    }

    #[test]
    fn a_cursor_with_another_order_is_rejected() {
        let spec = PageSpec {
            has_order: true,
            ..PageSpec::simple(2, 10)
        };
        let first = paginate(items(5), &q(&[]), spec).expect("first");
        let next = first["next_page"].as_str().expect("next").to_owned();
        assert!(paginate(items(5), &q(&[("page", &next), ("order", "desc")]), spec).is_err());
        assert!(paginate(items(5), &q(&[("limit", "0")]), spec).is_err());
        assert!(paginate(items(5), &q(&[("page", "garbage")]), spec).is_err());
    }
}
