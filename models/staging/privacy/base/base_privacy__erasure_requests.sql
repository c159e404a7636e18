-- One row per raw erasure request row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). An invalid email on a request that
-- names its contact is nulled with its reason (`email_null_reason`, `email_nulled_raw`)
-- and the request staged, so the contact is still erased.
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('privacy', 'erasure_requests'), 'erasure_request_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('erasure_request_id') }} as erasure_request_id,
        {{ clean_text('contact_id') }} as contact_id,

        -- strings
        {{ plausible_typed_value('privacy', 'erasure_requests', 'email', 'email') }} as email,
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

attributes_checked as {{ not_materialized() }} (
    select
        *,
        case {{ plausibility_checks('privacy', 'erasure_requests', 'email') }} end as email_null_reason
    from typed
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('erasure_request_id_raw') }}
            when email is null and contact_id is null then 'missing_subject_identifier'
            -- a request without a contact names its subject by email alone
            when contact_id is null and email_null_reason is not null then email_null_reason
            {{ plausibility_checks('privacy', 'erasure_requests', 'requested_at') }}
        end as quarantine_reason
    from attributes_checked
),

{{ classify_raw_rows('validated', ['erasure_request_id']) }},

final as (
    select
        erasure_request_id,
        contact_id,
        case when email_null_reason is null then email end as email,
        request_channel,
        requested_at,
        email_null_reason,
        case
            when email_null_reason is not null
                then {{ redacted_raw_value('email_raw', 'email', 'privacy.erasure_requests') }}
        end as email_nulled_raw,
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
        ], 'privacy.erasure_requests') }} as raw_record
    from classified
)

select * from final
