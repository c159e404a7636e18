{#-
    One row per counted order (int_orders_enriched.is_counted_order) attributed to an
    email touch of its customer, at or before as_of: the touch, its day and the order's
    counted revenue. Touches are each campaign's first click and first send to the
    customer (int_customer_campaign_engagement). An order is attributed, once, to:
    - the last click at most var('kpi_attribution_days_after_click') days before it
      (touch time <= ordered_at < touch time + window), else
    - the last send at most var('kpi_attribution_days_after_send') days before it.
    Last touch wins, so an order two campaigns touched counts for one campaign only and
    is never double counted; ties go to the smaller campaign_id. Orders with no touch in
    either window are not in the model.
-#}
{%- set click_days = var('kpi_attribution_days_after_click') %}
{%- set send_days = var('kpi_attribution_days_after_send') %}

with

int_orders_enriched as (
    select * from {{ ref('int_orders_enriched') }}
),

int_customer_campaign_engagement as (
    select * from {{ ref('int_customer_campaign_engagement') }}
),

counted_orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        counted_revenue_usd
    from int_orders_enriched
    where is_counted_order
        and customer_id is not null
        and ordered_at < {{ as_of_cutoff() }}
),

touches as (
    select
        customer_id,
        campaign_id,
        'click' as touch_type,
        1 as touch_preference,
        first_clicked_at as touched_at,
        {{ dbt.dateadd('day', click_days, 'first_clicked_at') }} as window_ends_at
    from int_customer_campaign_engagement
    where first_clicked_at is not null

    union all

    select
        customer_id,
        campaign_id,
        'send' as touch_type,
        2 as touch_preference,
        first_sent_at as touched_at,
        {{ dbt.dateadd('day', send_days, 'first_sent_at') }} as window_ends_at
    from int_customer_campaign_engagement
    where first_sent_at is not null
),

order_touches as (
    select
        counted_orders.order_id,
        counted_orders.customer_id,
        counted_orders.ordered_at,
        counted_orders.counted_revenue_usd,
        touches.campaign_id,
        touches.touch_type,
        touches.touched_at,
        row_number() over (
            partition by counted_orders.order_id
            order by touches.touch_preference asc, touches.touched_at desc, touches.campaign_id asc
        ) as touch_rank
    from counted_orders
    inner join touches
        on counted_orders.customer_id = touches.customer_id
            and counted_orders.ordered_at >= touches.touched_at
            and counted_orders.ordered_at < touches.window_ends_at
),

final as (
    select
        order_id,
        customer_id,
        campaign_id,
        touch_type,
        touched_at,
        cast(touched_at as date) as touch_date,
        ordered_at,
        counted_revenue_usd
    from order_touches
    where touch_rank = 1
)

select * from final
