-- One row per raw email platform event row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined).
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    post_hook="{{ purge_expired_rows('email', 'occurred_at', raw_table='events') }}",
) }}

with

{{ raw_rows_to_classify(source('email', 'events'), 'email_event_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('email_event_id') }} as email_event_id,
        {{ clean_text('campaign_id') }} as campaign_id,

        -- strings
        {{ normalize_email('email') }} as email,
        lower(trim(event_type)) as event_type,
        {{ clean_text('click_url') }} as click_url,
        lower({{ clean_text('bounce_type') }}) as bounce_type,

        -- timestamps
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        email_event_id as email_event_id_raw,
        campaign_id as campaign_id_raw,
        email as email_raw,
        event_type as event_type_raw,
        occurred_at as occurred_at_raw,
        click_url as click_url_raw,
        bounce_type as bounce_type_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('email_event_id_raw') }}
            {{ quarantine_when_missing('campaign_id_raw') }}
            {{ quarantine_when_missing('email_raw') }}
            {{ quarantine_when_invalid_email('email_raw') }}
            {{ quarantine_when_not_in('event_type_raw', [
                'send',
                'delivery',
                'open',
                'click',
                'bounce',
                'unsubscribe',
                'spam_complaint'
            ]) }}
            {{ plausibility_checks('email', 'events', 'occurred_at') }}
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['email_event_id']) }},

final as (
    select
        email_event_id,
        campaign_id,
        email,
        event_type,
        click_url,
        bounce_type,
        occurred_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('email_event_id_raw') }} as email_event_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'email_event_id',
            'campaign_id',
            'email',
            'event_type',
            'occurred_at',
            'click_url',
            'bounce_type'
        ], 'email.events') }} as raw_record
    from classified
)

select * from final
