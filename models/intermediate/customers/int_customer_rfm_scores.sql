-- One row per customer of int_customers_as_of with a counted order: their recency,
-- frequency and monetary quintiles (1-5, 5 = most recent, most orders, most revenue) among
-- those customers, by ntile(5) over days since the last order, lifetime orders and lifetime
-- revenue. Tied values share the score of the first customer of the tie in ntile order, so
-- equal customers always score alike.
{% set as_of = as_of_date() %}

with

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

int_customer_order_summary as (
    select * from {{ ref('int_customer_order_summary') }}
),

ordering_customers as (
    select
        int_customers_as_of.customer_id,
        {{ dbt.datediff('cast(int_customer_order_summary.last_order_at as date)', as_of, 'day') }}
            as days_since_last_order,
        int_customer_order_summary.orders_lifetime,
        coalesce(int_customer_order_summary.lifetime_revenue_usd, 0) as lifetime_revenue_usd
    from int_customers_as_of
    inner join int_customer_order_summary
        on int_customers_as_of.customer_id = int_customer_order_summary.customer_id
    where int_customer_order_summary.orders_lifetime > 0
),

ntiles as (
    select
        customer_id,
        days_since_last_order,
        orders_lifetime,
        lifetime_revenue_usd,
        ntile(5) over (order by days_since_last_order desc, customer_id asc) as recency_ntile,
        ntile(5) over (order by orders_lifetime, customer_id) as frequency_ntile,
        ntile(5) over (order by lifetime_revenue_usd, customer_id) as monetary_ntile
    from ordering_customers
),

final as (
    select
        customer_id,
        cast(min(recency_ntile) over (partition by days_since_last_order) as {{ dbt.type_int() }})
            as rfm_recency_score,
        cast(min(frequency_ntile) over (partition by orders_lifetime) as {{ dbt.type_int() }})
            as rfm_frequency_score,
        cast(min(monetary_ntile) over (partition by lifetime_revenue_usd) as {{ dbt.type_int() }})
            as rfm_monetary_score
    from ntiles
)

select * from final
