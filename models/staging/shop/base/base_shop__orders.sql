-- One row per raw shop order change record: typed, converted to US dollars, with its
-- quarantine reason and its disposition (staged, duplicate or quarantined). An invalid
-- email on an order with a shop account is nulled with its reason (`email_null_reason`,
-- `email_nulled_raw`) and the order staged; a guest order needs its email.
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('shop', 'orders'), 'order_id') }},

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('source.order_id') }} as order_id,
        {{ clean_text('source.shop_customer_id') }} as shop_customer_id,

        -- strings
        {{ plausible_typed_value('shop', 'orders', 'email', 'source.email') }} as email,
        lower(trim(source.order_status)) as order_status,
        upper(trim(source.currency)) as currency_code,

        -- numerics
        {{ plausible_typed_value('shop', 'orders', 'order_total', 'source.order_total') }} as order_total,
        currency_rates.usd_per_unit,

        -- timestamps
        {{ parse_timestamp_utc('source.ordered_at') }} as ordered_at,
        {{ parse_timestamp_utc('source.updated_at') }} as updated_at,

        -- lineage
        source._source_file,
        source._file_row_number,
        source._loaded_at,
        source._has_repeated_raw_key,
        source.order_id as order_id_raw,
        source.email as email_raw,
        source.order_status as order_status_raw,
        source.currency as currency_raw,
        source.order_total as order_total_raw,
        source.ordered_at as ordered_at_raw,
        source.updated_at as updated_at_raw,
        source.shop_customer_id as shop_customer_id_raw
    from source
    left join currency_rates
        on upper(trim(source.currency)) = currency_rates.currency_code
),

attributes_checked as {{ not_materialized() }} (
    select
        *,
        case {{ plausibility_checks('shop', 'orders', 'email') }} end as email_null_reason
    from typed
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('order_id_raw') }}
            {{ plausibility_checks('shop', 'orders', 'ordered_at') }}
            {{ plausibility_checks('shop', 'orders', 'updated_at') }}
            {{ quarantine_when_not_in('order_status_raw', [
                'placed',
                'shipped',
                'delivered',
                'cancelled',
                'refunded'
            ]) }}
            {{ plausibility_checks('shop', 'orders', 'order_total') }}
            when usd_per_unit is null then 'unknown_currency'
            -- a guest order is identified by its email alone
            when shop_customer_id is null and email_null_reason is not null then email_null_reason
            when shop_customer_id is null and email is null then 'unidentifiable_customer'
        end as quarantine_reason
    from attributes_checked
),

{{ classify_raw_rows('validated', ['order_id', 'updated_at']) }},

final as (
    select
        order_id,
        shop_customer_id,
        case when email_null_reason is null then email end as email,
        order_status,
        currency_code,
        order_total,
        usd_per_unit,
        ordered_at,
        updated_at,
        email_null_reason,
        case
            when email_null_reason is not null
                then {{ redacted_raw_value('email_raw', 'email', 'shop.orders') }}
        end as email_nulled_raw,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('order_id_raw') }} as order_id_raw,
        {{ quarantined_raw_value('updated_at_raw') }} as updated_at_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'order_id',
            'shop_customer_id',
            'email',
            'order_status',
            'currency',
            'order_total',
            'ordered_at',
            'updated_at'
        ], 'shop.orders') }} as raw_record
    from classified
)

select * from final
