-- One row per order line: a product, its quantity (negative on returns and credit
-- notes) and unit price in the order's currency.
with

base as (
    select * from {{ ref('base_shop__order_lines') }}
),

staged as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as decimal(18, 2)) as line_amount,
        quantity < 0 as is_return_line,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
