-- The product brief's example segment query (section 3c) against this warehouse:
--   SELECT user_id FROM user_data
--   WHERE last_purchase_date >= CURRENT_DATE - INTERVAL '30 days'
--     AND average_order_value > 200 AND email_open_rate > 0.5;
-- "Today" is the build's as_of date and every feature is already computed as of it, so
-- the 30-day window is days_since_last_order <= 30 (portable: no interval literal).
with

dim_customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select customer_id
    from dim_customers
    where days_since_last_order <= 30
        and average_order_value_usd > 200
        and email_open_rate_90_days > 0.5
)

select * from final
