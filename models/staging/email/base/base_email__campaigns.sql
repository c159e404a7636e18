-- One row per raw email campaign row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined).
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('email', 'campaigns'), 'campaign_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('campaign_id') }} as campaign_id,

        -- strings
        {{ clean_text('campaign_name') }} as campaign_name,
        {{ clean_text('subject') }} as subject,
        lower(trim(campaign_type)) as campaign_type,

        -- timestamps
        {{ parse_timestamp_utc('scheduled_at') }} as scheduled_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        campaign_id as campaign_id_raw,
        campaign_type as campaign_type_raw,
        scheduled_at as scheduled_at_raw,
        campaign_name as campaign_name_raw,
        subject as subject_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('campaign_id_raw') }}
            {{ quarantine_when_not_in('campaign_type_raw', ['newsletter', 'promo', 'winback', 'transactional']) }}
            {{ plausibility_checks('email', 'campaigns', 'scheduled_at') }}
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['campaign_id']) }},

final as (
    select
        campaign_id,
        campaign_name,
        subject,
        campaign_type,
        scheduled_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('campaign_id_raw') }} as campaign_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'campaign_id',
            'campaign_name',
            'subject',
            'campaign_type',
            'scheduled_at'
        ], 'email.campaigns') }} as raw_record
    from classified
)

select * from final
