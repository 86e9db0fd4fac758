-- Fewer provider requests per run without losing sight of anything.
--
-- The leak scan (listing every environment, agent, session and vault the run's key can see) is
-- needed only when the journal may be incomplete: a create whose outcome is unknown (an error,
-- a timeout, a lost response) or a journal row that had to be adopted after a holder died. The
-- worker records the first such doubt here; a run without doubt was journaled completely by
-- construction (journal-before-create, id recorded from the create's own answer) and skips the
-- scan, unless the operator asks for it always (`ANTPATH_WORKER__LEAK_SCAN=always`).
alter table runs add column provider_doubt_at timestamptz;

-- Set (fenced) right before an attempt's prompt is sent. The send cannot be deduplicated by the
-- provider, so a later dispatch of the same attempt that finds this set asks the provider whether
-- the prompt arrived; the first dispatch, finding it unset, needs no such read.
alter table run_attempts add column dispatch_started_at timestamptz;
