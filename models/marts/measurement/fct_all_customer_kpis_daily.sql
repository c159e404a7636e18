{#-
    One row per day from the first day the membership history holds through as_of: the
    email and order KPIs of all customers, the baseline segment KPIs are compared with
    (fct_segment_kpis_daily, computed with the same macros). customer_count is the
    customers of as_of's population (int_customers_as_of: known, not erased, not test
    accounts) first seen by the end of the day; churned_count the customers who moved
    into the churned lifecycle stage that day.
-#}

with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

int_customer_kpi_activity_daily as (
    select * from {{ ref('int_customer_kpi_activity_daily') }}
),

kpi_days as (
    {{ date_spine_rows('(select min(valid_from_date) from int_segment_memberships_historized)', as_of_date()) }}
),

first_seen_days as (
    select
        cast(first_seen_at as date) as first_seen_date,
        count(*) as new_customer_count
    from int_customers_as_of
    group by cast(first_seen_at as date)
),

customer_counts as (
    select
        kpi_days.spine_date as kpi_date,
        coalesce(sum(first_seen_days.new_customer_count), 0) as customer_count
    from kpi_days
    left join first_seen_days
        on kpi_days.spine_date >= first_seen_days.first_seen_date
            or first_seen_days.first_seen_date is null
    where kpi_days.spine_date is not null
    group by kpi_days.spine_date
),

daily_activity as (
    select
        activity.activity_date as kpi_date,
        {{ kpi_activity_sums('activity') }}
    from int_customer_kpi_activity_daily as activity
    inner join int_customers_as_of
        on activity.customer_id = int_customers_as_of.customer_id
    group by activity.activity_date
),

final as (
    select
        customer_counts.kpi_date,
        {{ kpi_count('customer_counts.customer_count') }} as customer_count,
        {{ kpi_count('sums.churned_count') }} as churned_count,
        {{ kpi_activity_columns('sums') }},
        {{ as_of_date() }} as as_of_date
    from customer_counts
    left join daily_activity as sums
        on customer_counts.kpi_date = sums.kpi_date
)

select * from final
