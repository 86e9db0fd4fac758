-- Token pepper rotation: every keyed hash records which configured pepper made it.
--
-- The bff holds several peppers by id (`ANTPATH_BFF__TOKEN_PEPPERS__<ID>`, the active one
-- named by `ANTPATH_BFF__ACTIVE_PEPPER_ID`; the single `ANTPATH_BFF__TOKEN_PEPPER` is the id
-- `legacy`). A presented token or cookie is hashed under each configured pepper and looked up
-- by all those hashes at once; the row's `pepper_id` says which one was meant, and a token
-- found under an old pepper is re-hashed under the active one on use. `antpath-bff admin
-- rotate-pepper` counts live rows per pepper id to say when an old pepper can be removed.
--
-- The default is `legacy` because every existing hash was made with the single pepper, and
-- because a bff replica of the previous release (still running during a rolling deploy)
-- inserts rows without naming a pepper: it only knows the legacy one. New code always names it.

alter table api_tokens add column pepper_id text not null default 'legacy'
    check (length(pepper_id) between 1 and 64);

alter table web_sessions add column pepper_id text not null default 'legacy'
    check (length(pepper_id) between 1 and 64);

-- No index on pepper_id: lookups go through the unique hash indexes, and the rotation report
-- is an occasional operator query over live rows.
