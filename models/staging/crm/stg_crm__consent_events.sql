-- One row per consent event: a contact granting or revoking consent on one channel, for
-- one purpose or (purpose null) every purpose of the channel; channel 'all' revoked is a
-- global unsubscribe.
with

base as (
    select * from {{ ref('base_crm__consent_events') }}
),

staged as (
    select
        consent_event_id,
        contact_id,
        channel,
        purpose,
        consent_status,
        capture_source,
        consent_status = 'granted' as is_granted,
        occurred_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
