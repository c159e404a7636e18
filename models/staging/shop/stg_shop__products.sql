-- One row per product catalogue version (product_id, updated_at).
with

base as (
    select * from {{ ref('base_shop__products') }}
),

staged as (
    select
        product_id,
        product_name,
        category,
        currency_code,
        list_price,
        updated_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
