-- Reconciliation: the lifetime revenue of all profiles equals the counted net revenue of
-- staged orders (latest version at or before as_of) attributed to customers who are
-- neither erased nor test accounts. Recomputed here from staging, independently of
-- int_orders_enriched. Returns one row when the totals differ by more than a cent.
with

stg_shop__orders as (
    select * from {{ ref('stg_shop__orders') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

dim_customers as (
    select * from {{ ref('dim_customers') }}
),

latest_versions as (
    select
        order_id,
        shop_customer_id,
        email,
        is_cancelled_or_refunded,
        order_total_usd,
        row_number() over (partition by order_id order by updated_at desc, loaded_at desc) as version_recency
    from stg_shop__orders
    where updated_at < {{ as_of_cutoff() }}
        and ordered_at < {{ as_of_cutoff() }}
),

attributed as (
    select
        coalesce(by_account.customer_id, by_email.customer_id) as customer_id,
        case
            when latest_versions.order_total_usd < 0 then latest_versions.order_total_usd
            when latest_versions.is_cancelled_or_refunded then 0
            else latest_versions.order_total_usd
        end as counted_revenue_usd
    from latest_versions
    left join int_identifiers_resolved_to_customers as by_account
        on by_account.identifier_type = 'shop_customer_id'
            and latest_versions.shop_customer_id = by_account.identifier_value
    left join int_identifiers_resolved_to_customers as by_email
        on by_email.identifier_type = 'email'
            and latest_versions.email = by_email.identifier_value
    where latest_versions.version_recency = 1
),

staged_total as (
    select coalesce(sum(attributed.counted_revenue_usd), 0) as revenue_usd
    from attributed
    inner join dim_customers
        on attributed.customer_id = dim_customers.customer_id
),

profile_total as (
    select coalesce(sum(lifetime_revenue_usd), 0) as revenue_usd
    from dim_customers
)

select
    staged_total.revenue_usd as staged_revenue_usd,
    profile_total.revenue_usd as profile_revenue_usd
from staged_total
cross join profile_total
where abs(staged_total.revenue_usd - profile_total.revenue_usd) > 0.01
