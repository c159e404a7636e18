-- One row per raw web event row: typed, with its quarantine reason and its disposition
-- (staged, duplicate or quarantined).
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    post_hook="{{ purge_expired_rows('web', 'occurred_at', raw_table='events') }}",
) }}

with

{{ raw_rows_to_classify(source('web', 'events'), 'event_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('anonymous_id') }} as anonymous_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('product_id') }} as product_id,

        -- strings
        lower(trim(event_type)) as event_type,
        {{ clean_text('page_url') }} as page_url,
        lower({{ clean_text('utm_source') }}) as utm_source,
        lower({{ clean_text('utm_medium') }}) as utm_medium,
        lower({{ clean_text('utm_campaign') }}) as utm_campaign,
        lower({{ clean_text('device_type') }}) as device_type,

        -- timestamps
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        event_id as event_id_raw,
        event_type as event_type_raw,
        occurred_at as occurred_at_raw,
        anonymous_id as anonymous_id_raw,
        user_id as user_id_raw,
        page_url as page_url_raw,
        product_id as product_id_raw,
        utm_source as utm_source_raw,
        utm_medium as utm_medium_raw,
        utm_campaign as utm_campaign_raw,
        device_type as device_type_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('event_id_raw') }}
            when anonymous_id is null and user_id is null then 'missing_visitor_identifier'
            {{ quarantine_when_not_in('event_type_raw', [
                'page_view',
                'product_view',
                'add_to_cart',
                'checkout_start',
                'login',
                'search'
            ]) }}
            {{ plausibility_checks('web', 'events', 'occurred_at') }}
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['event_id']) }},

final as (
    select
        event_id,
        anonymous_id,
        user_id,
        product_id,
        event_type,
        page_url,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        occurred_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('event_id_raw') }} as event_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'event_id',
            'anonymous_id',
            'user_id',
            'event_type',
            'page_url',
            'product_id',
            'utm_source',
            'utm_medium',
            'utm_campaign',
            'device_type',
            'occurred_at'
        ], 'web.events') }} as raw_record
    from classified
)

select * from final
