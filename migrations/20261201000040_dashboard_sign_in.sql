-- Dashboard sign-in: server-side sessions with an idle and an absolute expiry, the workspace
-- a session is looking at, and the lookups that sign-in and membership checks make.

-- A session is valid while it is not revoked, its absolute expiry (`expires_at`) is ahead, it
-- was seen within the idle window (checked against `last_seen_at` by the bff, whose setting
-- names the window), and its `token_version` still equals its user's.
alter table web_sessions
    add column last_seen_at timestamptz not null default now(),
    -- The workspace the session is looking at; null until the user picks one, and reset when
    -- the workspace goes away (the bff then falls back to the user's first membership).
    add column workspace_id uuid references workspaces (id) on delete set null;

-- "Sign out everywhere" and disabling a user revoke a user's sessions in one statement.
create index web_sessions_by_user on web_sessions (app_user_id) where revoked_at is null;

-- An API token acts only while its creator is an active member of the token's workspace; the
-- token lookup joins the membership by its primary key (workspace_id, app_user_id), which
-- exists already, so no index is added for it here.
