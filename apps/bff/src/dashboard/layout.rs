//! The frame of every dashboard page: the document head (stylesheet and scripts from [`super::assets`],
//! no inline script or style), the header with the product name, the workspace switcher, the
//! navigation, the signed-in user and the sign-out button, and the small shared pieces (status
//! badges, the CSRF field).

use antpath_types::{CleanupState, RunStatus};
use maud::{DOCTYPE, Markup, html};

use super::assets::Asset;
use super::format;
use crate::session::SignedIn;

/// The product name in titles and the header.
pub const PRODUCT: &str = "antpath";

/// Which part of the site a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Runs and a run.
    Runs,
    /// API tokens.
    Tokens,
    /// The workspace and its members.
    Workspace,
}

impl Section {
    const ALL: [(Section, &'static str, &'static str); 3] = [
        (Section::Runs, "/runs", "Runs"),
        (Section::Tokens, "/tokens", "API tokens"),
        (Section::Workspace, "/workspace", "Workspace"),
    ];
}

/// A page for a signed-in person.
#[derive(Debug)]
pub struct Shell<'a> {
    signed_in: &'a SignedIn,
    section: Section,
    title: String,
    refresh_seconds: Option<u32>,
    scripts: Vec<Asset>,
}

impl<'a> Shell<'a> {
    /// A page titled `title` in `section`.
    pub fn new(signed_in: &'a SignedIn, section: Section, title: impl Into<String>) -> Self {
        Self {
            signed_in,
            section,
            title: title.into(),
            refresh_seconds: None,
            scripts: Vec::new(),
        }
    }

    /// Reloads the page every `seconds` (a `<meta http-equiv="refresh">`).
    pub fn refresh_every(mut self, seconds: u32) -> Self {
        self.refresh_seconds = Some(seconds);
        self
    }

    /// Loads `script` (deferred).
    pub fn script(mut self, script: Asset) -> Self {
        self.scripts.push(script);
        self
    }

    /// The whole document around `body`.
    pub fn render(self, body: Markup) -> Markup {
        let signed_in = self.signed_in;
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(&self.title, self.refresh_seconds, &self.scripts))
                body {
                    header.top {
                        a.brand href="/runs" { (PRODUCT) }
                        nav.main aria-label="Main" {
                            @for (section, href, label) in Section::ALL {
                                @if section == self.section {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        div.who {
                            (workspace_switcher(signed_in))
                            span.user title=(format!("Role: {}", signed_in.workspace.role.as_str())) {
                                (signed_in.email)
                                " "
                                span.role { (signed_in.workspace.role.as_str()) }
                            }
                            form.inline method="post" action="/sign-out" {
                                (csrf_field(signed_in))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }
}

/// The current workspace's name, and a switcher when the person belongs to more than one.
fn workspace_switcher(signed_in: &SignedIn) -> Markup {
    html! {
        @if signed_in.workspaces.len() > 1 {
            form.switcher.inline method="post" action="/workspace/switch" {
                (csrf_field(signed_in))
                label.visually-hidden for="workspace-switch" { "Workspace" }
                select id="workspace-switch" name="workspace" {
                    @for choice in &signed_in.workspaces {
                        option value=(choice.id) selected[choice.id == signed_in.workspace.id] {
                            (choice.name)
                        }
                    }
                }
                button type="submit" { "Switch" }
            }
        } @else {
            span.workspace-name { (signed_in.workspace.name) }
        }
    }
}

fn head(title: &str, refresh_seconds: Option<u32>, scripts: &[Asset]) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(seconds) = refresh_seconds {
                meta http-equiv="refresh" content=(seconds);
            }
            title { (title) " · " (PRODUCT) }
            link rel="stylesheet" href=(Asset::AppCss.url());
            @for script in scripts {
                script src=(script.url()) defer {}
            }
        }
    }
}

/// The hidden `csrf` field every POST form carries.
pub fn csrf_field(signed_in: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed_in.csrf_token); }
}

/// A coloured badge for a run status; `run.js` sets the same classes.
pub fn status_badge(status: RunStatus) -> Markup {
    html! {
        span.badge.(format!("s-{}", status.as_str())) {
            (format::words(status.as_str()))
        }
    }
}

/// A coloured badge for a cleanup state; `run.js` sets the same classes.
pub fn cleanup_badge(state: CleanupState) -> Markup {
    html! {
        span.badge.(format!("c-{}", state.as_str())) {
            (format::words(state.as_str()))
        }
    }
}

/// A coloured badge for a provider resource or attempt state (`created`, `failed`, …).
pub fn state_badge(state: &str) -> Markup {
    html! { span.badge.(format!("r-{state}")) { (format::words(state)) } }
}
