-- One row per raw manual suppression list row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). The list names a person by email
-- and/or phone; the phone must carry its country code ('+' or '00'), since the list has
-- no country to complete a national number. An invalid identifier is nulled with its
-- reason (`<attribute>_null_reason`, `<attribute>_nulled_raw`) when the entry still
-- names the person by the other one; an entry left without either, or with a channel
-- other than email, sms, ads or all, is quarantined.
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('privacy', 'manual_suppressions'), 'suppression_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('suppression_id') }} as suppression_id,

        -- strings
        {{ plausible_typed_value('privacy', 'manual_suppressions', 'email', 'email') }} as email,
        {{ plausible_typed_value('privacy', 'manual_suppressions', 'phone', 'phone') }} as phone,
        lower({{ clean_text('channel') }}) as channel,
        lower({{ clean_text('reason') }}) as reason,

        -- timestamps
        {{ parse_timestamp_utc('suppressed_at') }} as suppressed_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        suppression_id as suppression_id_raw,
        email as email_raw,
        phone as phone_raw,
        channel as channel_raw,
        reason as reason_raw,
        suppressed_at as suppressed_at_raw
    from source
),

attributes_checked as {{ not_materialized() }} (
    select
        *,
        case {{ plausibility_checks('privacy', 'manual_suppressions', 'email') }} end as email_null_reason,
        case
            {{ plausibility_checks('privacy', 'manual_suppressions', 'phone') }}
            when phone is not null and phone not like '+%' and phone not like '00%'
                then 'phone_without_country_code'
        end as phone_null_reason
    from typed
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('suppression_id_raw') }}
            when channel is null then 'missing_channel'
            when channel not in ('email', 'sms', 'ads', 'all') then 'invalid_channel'
            when (email is null or email_null_reason is not null)
                and (phone is null or phone_null_reason is not null)
                then coalesce(email_null_reason, phone_null_reason, 'missing_subject_identifier')
            {{ plausibility_checks('privacy', 'manual_suppressions', 'suppressed_at') }}
        end as quarantine_reason
    from attributes_checked
),

{{ classify_raw_rows('validated', ['suppression_id']) }},

final as (
    select
        suppression_id,
        case when email_null_reason is null then email end as email,
        case when phone_null_reason is null then phone end as phone,
        channel,
        reason,
        suppressed_at,
        email_null_reason,
        case
            when email_null_reason is not null
                then {{ redacted_raw_value('email_raw', 'email', 'privacy.manual_suppressions') }}
        end as email_nulled_raw,
        phone_null_reason,
        case
            when phone_null_reason is not null
                then {{ redacted_raw_value('phone_raw', 'phone', 'privacy.manual_suppressions') }}
        end as phone_nulled_raw,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('suppression_id_raw') }} as suppression_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'suppression_id',
            'email',
            'phone',
            'channel',
            'reason',
            'suppressed_at'
        ], 'privacy.manual_suppressions') }} as raw_record
    from classified
)

select * from final
