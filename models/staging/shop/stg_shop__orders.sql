-- One row per shop order version (order_id, updated_at): the order's status and
-- amounts as of each change the shop recorded, amounts also in US dollars.
with

base as (
    select * from {{ ref('base_shop__orders') }}
),

staged as (
    select
        -- ids
        order_id,
        shop_customer_id,

        -- strings
        email,
        order_status,
        currency_code,

        -- booleans
        shop_customer_id is null as is_guest_checkout,
        order_status in ('cancelled', 'refunded') as is_cancelled_or_refunded,

        -- numerics
        order_total,
        cast(order_total * usd_per_unit as decimal(18, 2)) as order_total_usd,

        -- timestamps
        ordered_at,
        updated_at,

        -- lineage
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
