-- Outputs the provider lists but will not serve (the session's copies of mounted inputs,
-- `downloadable: false`) are recorded as skipped with the reason `not_downloadable`: the run
-- shows why the file is not among its outputs, and a retried capture does not try it again.
-- A skip is not a failure; the run's outcome is unchanged.
alter table output_capture_failures drop constraint output_capture_failures_reason_check;
alter table output_capture_failures add constraint output_capture_failures_reason_check
    check (reason in ('workspace_quota_exceeded', 'download_failed', 'upload_failed',
                      'size_cap_exceeded', 'size_mismatch', 'capture_abandoned',
                      'not_downloadable'));
