-- One row per customer with at least one order or credit note placed at or before the
-- as_of day: counted orders over their lifetime and the last 30, 90 and 365 days, net
-- revenue (credit notes negative, cancelled and refunded orders 0), and the first and
-- latest counted order and latest placed order.
with

int_orders_enriched as (
    select * from {{ ref('int_orders_enriched') }}
),

final as (
    select
        customer_id,
        count(case when is_counted_order then 1 end) as orders_lifetime,
        {{ sum_over_last_days('1', 'ordered_date', 30, condition='is_counted_order') }} as orders_last_30_days,
        {{ sum_over_last_days('1', 'ordered_date', 90, condition='is_counted_order') }} as orders_last_90_days,
        {{ sum_over_last_days('1', 'ordered_date', 365, condition='is_counted_order') }} as orders_last_365_days,
        sum(counted_revenue_usd) as lifetime_revenue_usd,
        min(case when is_counted_order then ordered_at end) as first_order_at,
        max(case when is_counted_order then ordered_at end) as last_order_at,
        max(case when not is_credit_note then ordered_at end) as last_placed_order_at
    from int_orders_enriched
    where customer_id is not null
        and ordered_at < {{ as_of_cutoff() }}
    group by customer_id
)

select * from final
