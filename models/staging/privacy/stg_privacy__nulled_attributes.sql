-- One row per staged privacy desk row per optional attribute that staging nulled as
-- implausible, with the landed value and the reason.
{{ select_nulled_attributes(
    'base_privacy__erasure_requests',
    'privacy.erasure_requests',
    ['erasure_request_id'],
    ['email']
) }}

union all

{{ select_nulled_attributes(
    'base_privacy__manual_suppressions',
    'privacy.manual_suppressions',
    ['suppression_id'],
    ['email', 'phone']
) }}
