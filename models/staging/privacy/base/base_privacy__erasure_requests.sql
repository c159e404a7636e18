-- One row per raw erasure request row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined).
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('privacy', 'erasure_requests'), 'erasure_request_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('erasure_request_id') }} as erasure_request_id,
        {{ clean_text('contact_id') }} as contact_id,

        -- strings
        {{ normalize_email('email') }} as email,
        lower({{ clean_text('request_channel') }}) as request_channel,

        -- timestamps
        {{ parse_timestamp_utc('requested_at') }} as requested_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        erasure_request_id as erasure_request_id_raw,
        email as email_raw,
        requested_at as requested_at_raw,
        contact_id as contact_id_raw,
        request_channel as request_channel_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('erasure_request_id_raw') }}
            when email is null and contact_id is null then 'missing_subject_identifier'
            {{ quarantine_when_invalid_email('email_raw') }}
            {{ plausibility_checks('privacy', 'erasure_requests', 'requested_at') }}
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['erasure_request_id']) }},

final as (
    select
        erasure_request_id,
        contact_id,
        email,
        request_channel,
        requested_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('erasure_request_id_raw') }} as erasure_request_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'erasure_request_id',
            'email',
            'contact_id',
            'requested_at',
            'request_channel'
        ]) }} as raw_record
    from classified
)

select * from final
