-- One row per raw privacy desk row that could not be used, with the reason.
{{ select_quarantined_rows('base_privacy__erasure_requests', 'privacy.erasure_requests', ['erasure_request_id_raw']) }}

union all

{{ select_quarantined_rows(
    'base_privacy__manual_suppressions', 'privacy.manual_suppressions', ['suppression_id_raw']
) }}
