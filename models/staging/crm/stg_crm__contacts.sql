-- One row per CRM contact version (contact_id, updated_at): every distinct change the
-- CRM recorded, typed, with normalised email and UTC timestamps.
with

base as (
    select * from {{ ref('base_crm__contacts') }}
),

staged as (
    select
        -- ids
        contact_id,
        shop_customer_id,

        -- strings
        first_name,
        last_name,
        email,
        phone,
        country_code,
        lifecycle_stage,

        -- booleans
        is_test_account,

        -- dates and timestamps
        birth_date,
        signed_up_at,
        updated_at,

        -- lineage
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
