-- One row per raw erasure request row that could not be used, with the reason.
{{ select_quarantined_rows('base_privacy__erasure_requests', 'privacy.erasure_requests', ['erasure_request_id_raw']) }}
