{#-
    One row per customer per cutoff of int_ml_cutoffs at which the customer already
    existed (first seen before the cutoff): point-in-time features that read only orders,
    sessions and email events strictly before cutoff_at, with the profile's fallbacks
    (counts and money 0, days_since_* 9999 for "never").

    Order status is the one at as_of (int_orders_enriched keeps each order's latest
    version), so an order refunded after a cutoff is already uncounted at that cutoff;
    docs/models.md lists this among the limits.
-#}
{%- set never_days = 9999 %}

with

int_ml_cutoffs as (
    select * from {{ ref('int_ml_cutoffs') }}
),

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

int_orders_enriched as (
    select * from {{ ref('int_orders_enriched') }}
),

int_customer_web_activity_daily as (
    select * from {{ ref('int_customer_web_activity_daily') }}
),

int_customer_email_campaigns as (
    select * from {{ ref('int_customer_email_campaigns') }}
),

customers_at_cutoffs as (
    select
        int_customer_profiles.customer_id,
        int_ml_cutoffs.cutoff_date,
        int_ml_cutoffs.cutoff_role,
        int_ml_cutoffs.has_labels,
        int_ml_cutoffs.cutoff_at,
        int_customer_profiles.signed_up_at
    from int_customer_profiles
    inner join int_ml_cutoffs
        on int_customer_profiles.signed_up_at < int_ml_cutoffs.cutoff_at
),

orders_before_cutoffs as (
    select
        int_orders_enriched.customer_id,
        int_orders_enriched.ordered_at,
        int_orders_enriched.ordered_date,
        int_orders_enriched.counted_revenue_usd,
        int_ml_cutoffs.cutoff_date,
        int_orders_enriched.ordered_at >= {{ dbt.dateadd('day', -30, 'int_ml_cutoffs.cutoff_at') }}
            as is_in_last_30_days,
        int_orders_enriched.ordered_at >= {{ dbt.dateadd('day', -90, 'int_ml_cutoffs.cutoff_at') }}
            as is_in_last_90_days
    from int_orders_enriched
    inner join int_ml_cutoffs
        on int_orders_enriched.ordered_at < int_ml_cutoffs.cutoff_at
    where int_orders_enriched.customer_id is not null
        and int_orders_enriched.is_counted_order
),

order_summary as (
    select
        customer_id,
        cutoff_date,
        count(*) as orders_count,
        count(distinct ordered_date) as order_days_count,
        count(case when is_in_last_30_days then 1 end) as orders_last_30_days,
        count(case when is_in_last_90_days then 1 end) as orders_last_90_days,
        sum(counted_revenue_usd) as revenue_usd,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders_before_cutoffs
    group by customer_id, cutoff_date
),

web_days_before_cutoffs as (
    select
        int_customer_web_activity_daily.customer_id,
        int_customer_web_activity_daily.activity_date,
        int_customer_web_activity_daily.sessions,
        int_customer_web_activity_daily.page_views,
        int_customer_web_activity_daily.cart_adds,
        int_ml_cutoffs.cutoff_date,
        int_customer_web_activity_daily.activity_date >= {{ dbt.dateadd('day', -30, 'int_ml_cutoffs.cutoff_date') }}
            as is_in_last_30_days
    from int_customer_web_activity_daily
    inner join int_ml_cutoffs
        on int_customer_web_activity_daily.activity_date < int_ml_cutoffs.cutoff_date
),

web_summary as (
    select
        customer_id,
        cutoff_date,
        {%- for measure in ['sessions', 'page_views', 'cart_adds'] %}
            sum(case when is_in_last_30_days then {{ measure }} else 0 end) as {{ measure }}_last_30_days,
        {%- endfor %}
        max(activity_date) as last_visit_date
    from web_days_before_cutoffs
    group by customer_id, cutoff_date
),

-- campaigns sent before the cutoff, with the opens and clicks before it (one row per
-- customer per campaign, so counting rows counts campaigns: no distinct at 1,000,000)
email_campaigns_before_cutoffs as (
    select
        int_customer_email_campaigns.customer_id,
        int_customer_email_campaigns.campaign_id,
        int_ml_cutoffs.cutoff_date,
        {{ dbt.dateadd('day', -90, 'int_ml_cutoffs.cutoff_at') }} as window_start_at,
        int_customer_email_campaigns.first_sent_at,
        case
            when int_customer_email_campaigns.first_opened_at < int_ml_cutoffs.cutoff_at
                then int_customer_email_campaigns.first_opened_at
        end as first_opened_at,
        case
            when int_customer_email_campaigns.first_clicked_at < int_ml_cutoffs.cutoff_at
                then int_customer_email_campaigns.first_clicked_at
        end as first_clicked_at
    from int_customer_email_campaigns
    inner join int_ml_cutoffs
        on int_customer_email_campaigns.first_sent_at < int_ml_cutoffs.cutoff_at
),

email_summary as (
    select
        customer_id,
        cutoff_date,
        count(case when first_sent_at >= window_start_at then 1 end)
            as emails_sent_last_90_days,
        count(case when first_opened_at >= window_start_at then 1 end)
            as emails_opened_last_90_days,
        count(case when first_clicked_at >= window_start_at then 1 end)
            as emails_clicked_last_90_days,
        max(first_opened_at) as last_open_at
    from email_campaigns_before_cutoffs
    group by customer_id, cutoff_date
),

{%- set cutoff_at = 'customers_at_cutoffs.cutoff_at' %}
{%- set cutoff_date = 'customers_at_cutoffs.cutoff_date' %}
{%- set first_order_at = 'order_summary.first_order_at' %}
{%- set last_order_at = 'order_summary.last_order_at' %}

final as (
    select
        -- ids
        customers_at_cutoffs.customer_id,
        customers_at_cutoffs.cutoff_date,

        -- strings
        customers_at_cutoffs.cutoff_role,

        -- booleans
        customers_at_cutoffs.has_labels,
        order_summary.customer_id is not null as has_ordered,

        -- recency, tenure and order gaps (days)
        {{ dbt.datediff('customers_at_cutoffs.signed_up_at', cutoff_at, 'day') }} as tenure_days,  -- noqa: LT05
        coalesce({{ dbt.datediff(last_order_at, cutoff_at, 'day') }}, {{ never_days }})
            as days_since_last_order,
        coalesce({{ dbt.datediff(first_order_at, cutoff_at, 'day') }}, {{ never_days }})
            as days_since_first_order,
        coalesce({{ dbt.datediff(first_order_at, last_order_at, 'day') }}, 0)
            as first_to_last_order_days,
        cast(case
            when order_summary.order_days_count > 1
                then {{ dbt.datediff(first_order_at, last_order_at, 'day') }}
                    * 1.0 / (order_summary.order_days_count - 1)
            else 0
        end as {{ type_double() }}) as mean_days_between_orders,

        -- frequency and monetary
        coalesce(order_summary.orders_count, 0) as orders_count,
        coalesce(order_summary.order_days_count, 0) as order_days_count,
        coalesce(order_summary.orders_last_30_days, 0) as orders_last_30_days,
        coalesce(order_summary.orders_last_90_days, 0) as orders_last_90_days,
        cast(coalesce(order_summary.revenue_usd, 0) as decimal(18, 2)) as revenue_usd,
        cast(coalesce(order_summary.revenue_usd / order_summary.orders_count, 0) as decimal(18, 2))
            as average_order_value_usd,

        -- web activity
        coalesce(web_summary.sessions_last_30_days, 0) as sessions_last_30_days,
        coalesce(web_summary.page_views_last_30_days, 0) as page_views_last_30_days,
        coalesce(web_summary.cart_adds_last_30_days, 0) as cart_adds_last_30_days,
        coalesce({{ dbt.datediff('web_summary.last_visit_date', cutoff_date, 'day') }}, {{ never_days }})
            as days_since_last_visit,

        -- email engagement (90 days before the cutoff)
        coalesce(email_summary.emails_sent_last_90_days, 0) as emails_sent_last_90_days,
        coalesce(email_summary.emails_opened_last_90_days, 0) as emails_opened_last_90_days,
        coalesce(email_summary.emails_clicked_last_90_days, 0) as emails_clicked_last_90_days,
        coalesce({{ dbt.datediff('email_summary.last_open_at', cutoff_at, 'day') }}, {{ never_days }})
            as days_since_last_email_open
    from customers_at_cutoffs
    left join order_summary
        on customers_at_cutoffs.customer_id = order_summary.customer_id
            and customers_at_cutoffs.cutoff_date = order_summary.cutoff_date
    left join web_summary
        on customers_at_cutoffs.customer_id = web_summary.customer_id
            and customers_at_cutoffs.cutoff_date = web_summary.cutoff_date
    left join email_summary
        on customers_at_cutoffs.customer_id = email_summary.customer_id
            and customers_at_cutoffs.cutoff_date = email_summary.cutoff_date
)

select * from final
