-- One row per customer with at least one web session started at or before the as_of day:
-- sessions and page views in the last 7 and 30 days, the first and latest visit and the
-- latest add-to-cart.
with

int_customer_web_activity_daily as (
    select * from {{ ref('int_customer_web_activity_daily') }}
),

final as (
    select
        customer_id,
        {{ sum_over_last_days('sessions', 'activity_date', 7) }} as sessions_last_7_days,
        {{ sum_over_last_days('sessions', 'activity_date', 30) }} as sessions_last_30_days,
        {{ sum_over_last_days('page_views', 'activity_date', 7) }} as page_views_last_7_days,
        {{ sum_over_last_days('page_views', 'activity_date', 30) }} as page_views_last_30_days,
        min(first_session_started_at) as first_visit_at,
        max(last_session_started_at) as last_visit_at,
        max(last_add_to_cart_at) as last_add_to_cart_at
    from int_customer_web_activity_daily
    where activity_date <= {{ as_of_date() }}
    group by customer_id
)

select * from final
