-- One row per raw shop order line row: typed, with its quarantine reason and its
-- disposition (staged, duplicate or quarantined). A line whose order header was
-- never staged is quarantined too, so no staged line points at a missing order.
-- Incremental: a run classifies the new loads, and again every delivery of a line key
-- that is still quarantined for its order (unknown_order, order_quarantined) or that
-- the new loads deliver again, since a header that arrives later can make such a line
-- usable and so change which delivery of its key is staged. The run replaces those
-- deliveries by raw row; every other line keeps its disposition, because a staged
-- header never goes away.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['_source_file', '_file_row_number'],
        on_schema_change='fail',
    )
}}

with

{% set keys_waiting_for_their_order -%}
    select order_line_id as raw_key
    from {{ this }}
    where quarantine_reason in ('unknown_order', 'order_quarantined')
{%- endset -%}

{{ raw_rows_to_classify(
    source('shop', 'order_lines'),
    'order_line_id',
    keys_to_reclassify=keys_waiting_for_their_order
) }},

order_headers as (
    select
        order_id,
        max(case when row_disposition = 'staged' then 1 else 0 end) as has_staged_version
    from {{ ref('base_shop__orders') }}
    where order_id is not null
    {% if is_incremental() %}
        and order_id in (select {{ clean_text('source.order_id') }} from source)
    {% endif %}
    group by order_id
),

typed as {{ not_materialized() }} (
    select
        -- ids
        {{ clean_text('source.order_line_id') }} as order_line_id,
        {{ clean_text('source.order_id') }} as order_id,
        {{ clean_text('source.product_id') }} as product_id,

        -- numerics
        {{ plausible_typed_value('shop', 'order_lines', 'quantity', 'source.quantity') }} as quantity,
        {{ plausible_typed_value('shop', 'order_lines', 'unit_price', 'source.unit_price') }} as unit_price,

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
            {{ plausibility_checks('shop', 'order_lines', 'quantity') }}
            when quantity = 0 then 'zero_quantity'
            {{ plausibility_checks('shop', 'order_lines', 'unit_price') }}
            when has_staged_version is null then 'unknown_order'
            when has_staged_version = 0 then 'order_quarantined'
        end as quarantine_reason
    from typed
),

{{ classify_raw_rows('validated', ['order_line_id'], whole_keys=true) }},

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
        {{ quarantined_raw_value('order_line_id_raw') }} as order_line_id_raw,
        quarantine_reason,
        row_disposition,
        {{ quarantined_raw_record([
            'order_line_id',
            'order_id',
            'product_id',
            'quantity',
            'unit_price'
        ], 'shop.order_lines') }} as raw_record
    from classified
)

select * from final
