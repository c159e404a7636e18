{#-
    One row per customer per day with email activity, an attributed conversion or a churn,
    at or before as_of: the customer's contribution to that day's KPIs, which the segment
    and all-customer KPI marts add up (a segment only over the customers who were its
    members at the end of the day).
    - Email counts are per campaign, on the campaign's touch day (the day it was sent to
      the customer): its delivery, opens, click and unsubscribe count on that day too, so
      each day's rates compare one cohort of sends.
    - Conversions and their revenue count on the day of the touch they are attributed to.
    - churned_count is 1 on a day the customer moved into the churned lifecycle stage.
-#}

with

int_customer_campaign_engagement as (
    select * from {{ ref('int_customer_campaign_engagement') }}
),

int_email_conversions_attributed as (
    select * from {{ ref('int_email_conversions_attributed') }}
),

int_customer_lifecycle_churns as (
    select * from {{ ref('int_customer_lifecycle_churns') }}
),

email_days as (
    select
        customer_id,
        touch_date as activity_date,
        sum(case when is_sent then 1 else 0 end) as send_count,
        sum(case when is_delivered then 1 else 0 end) as delivery_count,
        sum(case when is_human_opened then 1 else 0 end) as unique_open_count,
        sum(case when is_machine_opened then 1 else 0 end) as machine_open_count,
        sum(case when is_clicked then 1 else 0 end) as unique_click_count,
        sum(case when is_unsubscribed then 1 else 0 end) as unsubscribe_count
    from int_customer_campaign_engagement
    where touch_date <= {{ as_of_date() }}
    group by
        customer_id,
        touch_date
),

conversion_days as (
    select
        customer_id,
        touch_date as activity_date,
        count(*) as conversion_count,
        sum(counted_revenue_usd) as attributed_revenue_usd
    from int_email_conversions_attributed
    group by
        customer_id,
        touch_date
),

churn_days as (
    select distinct
        customer_id,
        churned_date as activity_date
    from int_customer_lifecycle_churns
),

customer_days as (
    select
        customer_id,
        activity_date
    from email_days

    union

    select
        customer_id,
        activity_date
    from conversion_days

    union

    select
        customer_id,
        activity_date
    from churn_days
),

final as (
    select
        customer_days.customer_id,
        customer_days.activity_date,
        case when coalesce(email_days.send_count, 0) > 0 then 1 else 0 end as recipient_count,
        coalesce(email_days.send_count, 0) as send_count,
        coalesce(email_days.delivery_count, 0) as delivery_count,
        coalesce(email_days.unique_open_count, 0) as unique_open_count,
        coalesce(email_days.machine_open_count, 0) as machine_open_count,
        coalesce(email_days.unique_click_count, 0) as unique_click_count,
        coalesce(email_days.unsubscribe_count, 0) as unsubscribe_count,
        coalesce(conversion_days.conversion_count, 0) as conversion_count,
        cast(coalesce(conversion_days.attributed_revenue_usd, 0) as decimal(18, 2)) as attributed_revenue_usd,
        case when churn_days.customer_id is null then 0 else 1 end as churned_count
    from customer_days
    left join email_days
        on customer_days.customer_id = email_days.customer_id
            and customer_days.activity_date = email_days.activity_date
    left join conversion_days
        on customer_days.customer_id = conversion_days.customer_id
            and customer_days.activity_date = conversion_days.activity_date
    left join churn_days
        on customer_days.customer_id = churn_days.customer_id
            and customer_days.activity_date = churn_days.activity_date
)

select * from final
