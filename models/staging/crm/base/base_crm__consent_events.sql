-- One row per raw CRM consent event row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). A purpose must be one the
-- consent_purposes seed declares for the row's channel; channel 'all' is a global
-- unsubscribe and can only revoke.
{{ config(materialized='incremental', on_schema_change='fail') }}

with

consent_purposes as (
    select * from {{ ref('consent_purposes') }}
),

{{ raw_rows_to_classify(source('crm', 'consent_events'), 'consent_event_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('consent_event_id') }} as consent_event_id,
        {{ clean_text('contact_id') }} as contact_id,

        -- strings
        lower(trim(channel)) as channel,
        lower({{ clean_text('purpose') }}) as purpose,
        lower(trim(consent_status)) as consent_status,
        lower({{ clean_text('capture_source') }}) as capture_source,

        -- timestamps
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        consent_event_id as consent_event_id_raw,
        contact_id as contact_id_raw,
        channel as channel_raw,
        purpose as purpose_raw,
        consent_status as consent_status_raw,
        occurred_at as occurred_at_raw,
        capture_source as capture_source_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        typed.*,
        case
            {{ quarantine_when_missing('consent_event_id_raw') }}
            {{ quarantine_when_missing('contact_id_raw') }}
            {{ quarantine_when_not_in('channel_raw', ['email', 'sms', 'ads', 'onsite', 'all']) }}
            {{ quarantine_when_not_in('consent_status_raw', ['granted', 'revoked']) }}
            when typed.channel = 'all' and typed.consent_status = 'granted' then 'global_grant'
            when typed.purpose is not null and consent_purposes.purpose is null then 'unknown_purpose'
            {{ plausibility_checks('crm', 'consent_events', 'occurred_at') }}
        end as quarantine_reason
    from typed
    left join consent_purposes
        on typed.channel = consent_purposes.channel
            and typed.purpose = consent_purposes.purpose
),

{{ classify_raw_rows('validated', ['consent_event_id']) }},

final as (
    select
        consent_event_id,
        contact_id,
        channel,
        purpose,
        consent_status,
        capture_source,
        occurred_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('consent_event_id_raw') }} as consent_event_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'consent_event_id',
            'contact_id',
            'channel',
            'purpose',
            'consent_status',
            'occurred_at',
            'capture_source'
        ], 'crm.consent_events') }} as raw_record
    from classified
)

select * from final
