-- One row per raw CRM contact change record: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). An implausible optional attribute
-- (email, phone, birth date, sign-up time) is nulled with its reason in
-- `<attribute>_null_reason` and its landed text in `<attribute>_nulled_raw`, and the
-- record is staged with its other attributes and identifiers.
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
        {{ plausible_typed_value('crm', 'contacts', 'email', 'email') }} as email,
        {{ plausible_typed_value('crm', 'contacts', 'phone', 'phone') }} as phone,
        upper({{ clean_text('country_code') }}) as country_code,
        lower({{ clean_text('lifecycle_stage') }}) as lifecycle_stage,

        -- booleans: the spellings upstream systems use; anything else is null here
        case
            when lower(trim(is_test_account)) in ('true', 't', 'yes', 'y', '1') then true
            when lower(trim(is_test_account)) in ('false', 'f', 'no', 'n', '0') then false
        end as is_test_account,

        -- dates and timestamps
        {{ plausible_typed_value('crm', 'contacts', 'birth_date', 'birth_date') }} as birth_date,
        {{ plausible_typed_value('crm', 'contacts', 'signed_up_at', 'signed_up_at') }} as signed_up_at,
        {{ plausible_typed_value('crm', 'contacts', 'updated_at', 'updated_at') }} as updated_at,

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
        -- optional attributes: an implausible value is nulled with its reason
        case {{ plausibility_checks('crm', 'contacts', 'email') }} end as email_null_reason,
        case {{ plausibility_checks('crm', 'contacts', 'phone') }} end as phone_null_reason,
        case {{ plausibility_checks('crm', 'contacts', 'birth_date') }} end as birth_date_null_reason,
        case {{ plausibility_checks('crm', 'contacts', 'signed_up_at') }} end as signed_up_at_null_reason,
        -- the record: unusable without these
        case
            {{ quarantine_when_missing('contact_id_raw') }}
            {{ plausibility_checks('crm', 'contacts', 'updated_at') }}
            -- a test account whose flag cannot be read could be mailed as a customer
            when nullif(trim(is_test_account_raw), '') is not null
                and is_test_account is null
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
        case when email_null_reason is null then email end as email,
        case when phone_null_reason is null then phone end as phone,
        country_code,
        lifecycle_stage,
        coalesce(is_test_account, false) as is_test_account,
        case when birth_date_null_reason is null then birth_date end as birth_date,
        case when signed_up_at_null_reason is null then signed_up_at end as signed_up_at,
        updated_at,
        email_null_reason,
        case
            when email_null_reason is not null
                then {{ redacted_raw_value('email_raw', 'email', 'crm.contacts') }}
        end as email_nulled_raw,
        phone_null_reason,
        case
            when phone_null_reason is not null
                then {{ redacted_raw_value('phone_raw', 'phone', 'crm.contacts') }}
        end as phone_nulled_raw,
        birth_date_null_reason,
        case
            when birth_date_null_reason is not null
                then {{ redacted_raw_value('birth_date_raw', 'birth_date', 'crm.contacts') }}
        end as birth_date_nulled_raw,
        signed_up_at_null_reason,
        case
            when signed_up_at_null_reason is not null
                then {{ redacted_raw_value('signed_up_at_raw', 'signed_up_at', 'crm.contacts') }}
        end as signed_up_at_nulled_raw,
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
        ], 'crm.contacts') }} as raw_record
    from classified
)

select * from final
