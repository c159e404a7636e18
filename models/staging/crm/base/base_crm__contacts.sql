-- One row per raw CRM contact change record: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined).
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('crm', 'contacts'), 'contact_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('contact_id') }} as contact_id,
        {{ clean_text('shop_customer_id') }} as shop_customer_id,

        -- strings
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        {{ clean_text('phone') }} as phone,
        upper({{ clean_text('country_code') }}) as country_code,
        lower({{ clean_text('lifecycle_stage') }}) as lifecycle_stage,

        -- booleans
        coalesce({{ parse_boolean('is_test_account') }}, false) as is_test_account,

        -- dates and timestamps
        {{ parse_date('birth_date') }} as birth_date,
        {{ parse_timestamp_utc('signed_up_at') }} as signed_up_at,
        {{ parse_timestamp_utc('updated_at') }} as updated_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        contact_id as contact_id_raw,
        email as email_raw,
        birth_date as birth_date_raw,
        signed_up_at as signed_up_at_raw,
        is_test_account as is_test_account_raw,
        updated_at as updated_at_raw,
        shop_customer_id as shop_customer_id_raw,
        first_name as first_name_raw,
        last_name as last_name_raw,
        phone as phone_raw,
        country_code as country_code_raw,
        lifecycle_stage as lifecycle_stage_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('contact_id_raw') }}
            {{ quarantine_when_bad_timestamp('updated_at_raw', 'updated_at') }}
            {{ quarantine_when_invalid_email('email_raw') }}
            {{ quarantine_when_unparseable('birth_date_raw', 'birth_date') }}
            {{ quarantine_when_unparseable('signed_up_at_raw', 'signed_up_at') }}
            when nullif(trim(is_test_account_raw), '') is not null
                and {{ parse_boolean('is_test_account_raw') }} is null
                then 'unparseable_is_test_account'
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['contact_id', 'updated_at']) }},

final as (
    select
        contact_id,
        shop_customer_id,
        first_name,
        last_name,
        email,
        phone,
        country_code,
        lifecycle_stage,
        is_test_account,
        birth_date,
        signed_up_at,
        updated_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('contact_id_raw') }} as contact_id_raw,
        {{ quarantined_raw_value('updated_at_raw') }} as updated_at_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'contact_id',
            'shop_customer_id',
            'first_name',
            'last_name',
            'email',
            'phone',
            'country_code',
            'birth_date',
            'signed_up_at',
            'lifecycle_stage',
            'is_test_account',
            'updated_at'
        ]) }} as raw_record
    from classified
)

select * from final
