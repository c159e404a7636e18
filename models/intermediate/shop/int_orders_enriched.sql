-- One row per shop order at its latest version at or before as_of, attributed to a
-- customer (shop account first, else the order's email) with its counted net revenue.
with

stg_shop__orders as (
    select * from {{ ref('stg_shop__orders') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

versions_before_cutoff as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, loaded_at desc
        ) as version_recency
    from stg_shop__orders
    where updated_at < {{ as_of_cutoff() }}
        and ordered_at < {{ as_of_cutoff() }}
),

latest_versions as (
    select * from versions_before_cutoff
    where version_recency = 1
),

attributed as (
    select
        latest_versions.*,
        coalesce(by_account.customer_id, by_email.customer_id) as customer_id
    from latest_versions
    left join int_identifiers_resolved_to_customers as by_account
        on by_account.identifier_type = 'shop_customer_id'
            and latest_versions.shop_customer_id = by_account.identifier_value
    left join int_identifiers_resolved_to_customers as by_email
        on by_email.identifier_type = 'email'
            and latest_versions.email = by_email.identifier_value
),

final as (
    select
        -- ids
        order_id,
        customer_id,
        shop_customer_id,

        -- strings
        email,
        order_status,
        currency_code,

        -- booleans
        is_guest_checkout,
        is_cancelled_or_refunded,
        order_total_usd < 0 as is_credit_note,
        order_total_usd >= 0 and not is_cancelled_or_refunded as is_counted_order,

        -- numerics
        order_total,
        order_total_usd,
        cast(
            case
                when order_total_usd < 0 then order_total_usd
                when is_cancelled_or_refunded then 0
                else order_total_usd
            end
            as decimal(18, 2)
        ) as counted_revenue_usd,

        -- timestamps
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        updated_at
    from attributed
)

select * from final
