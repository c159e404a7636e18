-- One row per raw product catalogue row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined).
{{ config(materialized='incremental', on_schema_change='fail') }}

with

{{ raw_rows_to_classify(source('shop', 'products'), 'product_id') }},

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('product_id') }} as product_id,

        -- strings
        {{ clean_text('product_name') }} as product_name,
        lower({{ clean_text('category') }}) as category,
        upper({{ clean_text('currency') }}) as currency_code,

        -- numerics
        {{ plausible_typed_value('shop', 'products', 'list_price', 'list_price') }} as list_price,

        -- timestamps
        {{ parse_timestamp_utc('updated_at') }} as updated_at,

        -- lineage
        _source_file,
        _file_row_number,
        _loaded_at,
        _has_repeated_raw_key,
        product_id as product_id_raw,
        list_price as list_price_raw,
        updated_at as updated_at_raw,
        product_name as product_name_raw,
        category as category_raw,
        currency as currency_raw
    from source
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('product_id_raw') }}
            {{ plausibility_checks('shop', 'products', 'updated_at') }}
            {{ plausibility_checks('shop', 'products', 'list_price') }}
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['product_id', 'updated_at']) }},

final as (
    select
        product_id,
        product_name,
        category,
        currency_code,
        list_price,
        updated_at,
        _source_file,
        _file_row_number,
        _loaded_at,
        {{ quarantined_raw_value('product_id_raw') }} as product_id_raw,
        {{ quarantined_raw_value('updated_at_raw') }} as updated_at_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'product_id',
            'product_name',
            'category',
            'list_price',
            'currency',
            'updated_at'
        ], 'shop.products') }} as raw_record
    from classified
)

select * from final
