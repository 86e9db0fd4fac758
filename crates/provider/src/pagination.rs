//! Page-cursor pagination, used by every Managed Agents list and (since SDK 2.10.0) the files
//! list: `limit` + `page` in, `{data, next_page}` out, until `next_page` is null.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::error::ProviderError;

/// A safety stop for "list everything" helpers, so that a provider bug returning the same
/// cursor forever cannot loop a worker forever.
pub const MAX_PAGES: usize = 10_000;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    #[serde(default)]
    pub next_page: Option<String>,
    /// The cursor of the previous page (sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_page: Option<String>,
}

/// The common list query: `limit`, `page`, `include_archived`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Items per page (the provider's default when unset).
    pub limit: Option<u32>,
    /// The opaque cursor from a previous `next_page`.
    pub page: Option<String>,
    /// Include archived resources (the provider's default is false).
    pub include_archived: Option<bool>,
}

impl ListParams {
    /// The first page with a given size.
    pub fn with_limit(limit: u32) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }

    /// These params pointing at another page.
    pub fn at_page(&self, page: Option<String>) -> Self {
        Self {
            page,
            ..self.clone()
        }
    }

    /// Includes or excludes archived resources.
    pub fn including_archived(mut self, include: bool) -> Self {
        self.include_archived = Some(include);
        self
    }

    /// The query pairs.
    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        if let Some(limit) = self.limit {
            query.push(("limit".to_owned(), limit.to_string()));
        }
        if let Some(page) = &self.page {
            query.push(("page".to_owned(), page.clone()));
        }
        if let Some(include) = self.include_archived {
            query.push(("include_archived".to_owned(), include.to_string()));
        }
        query
    }
}

/// Fetches page after page, starting from `first`, and concatenates their items.
pub async fn collect_all<T, F, Fut>(
    first: Option<String>,
    mut fetch: F,
) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ProviderError>>,
{
    let mut items = Vec::new();
    let mut cursor = first;
    for _ in 0..MAX_PAGES {
        let page = fetch(cursor.take()).await?;
        items.extend(page.data);
        match page.next_page {
            Some(next) if !next.is_empty() => cursor = Some(next),
            _ => return Ok(items),
        }
    }
    Err(ProviderError::Decode {
        request_id: None,
        message: format!("list did not end after {MAX_PAGES} pages"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_become_query_pairs() {
        let params = ListParams::with_limit(50)
            .including_archived(true)
            .at_page(Some("page_x".into()));
        assert_eq!(
            params.to_query(),
            vec![
                ("limit".to_owned(), "50".to_owned()),
                ("page".to_owned(), "page_x".to_owned()),
                ("include_archived".to_owned(), "true".to_owned()),
            ]
        );
        assert!(ListParams::default().to_query().is_empty());
    }

    #[tokio::test]
    async fn collect_all_follows_cursors_until_the_last_page() {
        let items = collect_all(None, |cursor| async move {
            Ok(match cursor.as_deref() {
                None => Page {
                    data: vec![1, 2],
                    next_page: Some("p2".into()),
                    prev_page: None,
                },
                Some("p2") => Page {
                    data: vec![3],
                    next_page: None,
                    prev_page: None,
                },
                Some(other) => panic!("unexpected cursor {other}"),
            })
        })
        .await
        .expect("collects");
        assert_eq!(items, vec![1, 2, 3]);
    }

    #[test]
    fn a_page_without_next_page_or_data_is_the_last_and_empty() {
        let page: Page<u32> = serde_json::from_str("{}").expect("parses");
        assert!(page.data.is_empty());
        assert!(page.next_page.is_none());
    }
}
