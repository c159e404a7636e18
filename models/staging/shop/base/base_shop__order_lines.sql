-- One row per raw shop order line row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). A line whose order header was
-- never staged is quarantined too, so no staged line points at a missing order.
-- A table rebuilt every run (not incremental, since a line's quarantine depends on order
-- headers that may arrive later): the staged, quarantine and test queries read it once
-- instead of re-joining the raw lines with the order headers each time.
{{ config(materialized='table') }}

with

{{ raw_rows_to_classify(source('shop', 'order_lines'), 'order_line_id') }},

order_headers as (
    select
        order_id,
        max(case when row_disposition = 'staged' then 1 else 0 end) as has_staged_version
    from {{ ref('base_shop__orders') }}
    where order_id is not null
    group by order_id
),

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('source.order_line_id') }} as order_line_id,
        {{ clean_text('source.order_id') }} as order_id,
        {{ clean_text('source.product_id') }} as product_id,

        -- numerics
        {{ parse_number('source.quantity', dbt.type_bigint()) }} as quantity,
        {{ parse_number('source.unit_price', 'decimal(18, 4)') }} as unit_price,

        -- lineage
        source._source_file,
        source._file_row_number,
        source._loaded_at,
        source._has_repeated_raw_key,
        source.order_line_id as order_line_id_raw,
        source.order_id as order_id_raw,
        source.product_id as product_id_raw,
        source.quantity as quantity_raw,
        source.unit_price as unit_price_raw,
        order_headers.has_staged_version
    from source
    left join order_headers
        on {{ clean_text('source.order_id') }} = order_headers.order_id
),

validated as {{ not_materialized() }} (
    select
        *,
        case
            {{ quarantine_when_missing('order_line_id_raw') }}
            {{ quarantine_when_missing('order_id_raw') }}
            {{ quarantine_when_missing('product_id_raw') }}
            {{ quarantine_when_missing('quantity_raw') }}
            {{ quarantine_when_unparseable('quantity_raw', 'quantity') }}
            when quantity = 0 then 'zero_quantity'
            {{ quarantine_when_missing('unit_price_raw') }}
            {{ quarantine_when_unparseable('unit_price_raw', 'unit_price') }}
            when unit_price < 0 then 'negative_unit_price'
            when has_staged_version is null then 'unknown_order'
            when has_staged_version = 0 then 'order_quarantined'
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['order_line_id']) }},

final as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        _source_file,
        _file_row_number,
        _loaded_at,
        order_line_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'order_line_id',
            'order_id',
            'product_id',
            'quantity',
            'unit_price'
        ]) }} as raw_record
    from classified
)

select * from final
