-- One row per consent signal per customer per channel and purpose it applies to, captured
-- at or before the as_of day: the consent audit record. Each row names its source system
-- and event, how and when consent was captured and loaded, and the status before and
-- after it, so the consent of any customer, channel and purpose at any past moment is the
-- status after the latest row captured before that moment. Pseudonymous: customer and
-- event ids only.
with

int_consent_changes as (
    select * from {{ ref('int_consent_changes') }}
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'customer_id', "'|'",
            'channel', "'|'",
            'purpose', "'|'",
            'consent_source', "'|'",
            'source_event_id',
        ])) }} as consent_change_id,
        customer_id,
        channel,
        purpose,
        consent_source,
        source_event_id,
        signal_type,
        capture_source,
        previous_consent_status,
        consent_status,
        previous_consent_status != consent_status as is_status_changed,
        captured_at,
        loaded_at,
        {{ as_of_date() }} as as_of_date
    from int_consent_changes
)

select * from final
