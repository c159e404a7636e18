-- One row per active segment: its email and order KPIs summed over the trailing window of
-- the var segment_ranking_window_days days to as_of, the same KPIs of all customers over
-- the same days (the baseline), the lift of each against the baseline, the segment's rank
-- by the primary KPI (the var segment_ranking_primary_kpi), and its size trend: the member
-- count's change over the window and from the day before, with the abnormal growth and
-- shrink flags that the warn-level test assert_segment_sizes_change_within_limits reads.
{%- set kpis = [
    {'name': 'click_through_rate', 'numerator': 'unique_click_count', 'denominator': 'delivery_count', 'higher_is_better': true},
    {'name': 'click_to_open_rate', 'numerator': 'unique_click_count', 'denominator': 'unique_open_count', 'higher_is_better': true},
    {'name': 'conversion_rate', 'numerator': 'conversion_count', 'denominator': 'recipient_count', 'higher_is_better': true},
    {'name': 'revenue_per_recipient_usd', 'numerator': 'attributed_revenue_usd', 'denominator': 'recipient_count', 'higher_is_better': true},
    {'name': 'unsubscribe_rate', 'numerator': 'unsubscribe_count', 'denominator': 'delivery_count', 'higher_is_better': false},
    {'name': 'churn_rate', 'numerator': 'churned_count', 'denominator': 'population_at_window_start', 'higher_is_better': false},
] %}
{%- set counts = ['recipient_count', 'delivery_count', 'unique_open_count', 'unique_click_count',
    'conversion_count', 'attributed_revenue_usd', 'unsubscribe_count', 'churned_count'] %}
{%- set primary = var('segment_ranking_primary_kpi') %}
{%- set primary_kpi = (kpis | selectattr('name', 'equalto', primary) | list | first) %}
{%- if primary_kpi is not defined or primary_kpi is none %}
    {{ exceptions.raise_compiler_error("The var segment_ranking_primary_kpi must be one of " ~ (kpis | map(attribute='name') | join(', ')) ~ "; got '" ~ primary ~ "'.") }}
{%- endif %}
{%- set window_days = var('segment_ranking_window_days') | int %}
{%- set window_start = dbt.dateadd('day', 1 - window_days, as_of_date()) %}

with

fct_segment_kpis_daily as (
    select * from {{ ref('fct_segment_kpis_daily') }}
),

fct_all_customer_kpis_daily as (
    select * from {{ ref('fct_all_customer_kpis_daily') }}
),

active_segments as (
    select
        segment_key,
        segment_name
    from (
        {{ segment_catalog_rows(statuses=['active']) }}
    ) as registry_rows
),

-- each segment day with the member count of the day before (null when that day is missing)
segment_sizes as (
    select
        segment_key,
        kpi_date,
        member_count,
        case
            when lag(kpi_date) over (partition by segment_key order by kpi_date)
                = {{ dbt.dateadd('day', -1, 'kpi_date') }}
                then lag(member_count) over (partition by segment_key order by kpi_date)
        end as previous_member_count,
        row_number() over (partition by segment_key order by kpi_date desc) as newest_first,
        row_number() over (
            partition by segment_key
            order by case when kpi_date >= {{ window_start }} then 0 else 1 end, kpi_date
        ) as window_oldest_first
    from fct_segment_kpis_daily
    where kpi_date <= {{ as_of_date() }}
),

segment_size_trend as (
    select
        segment_key,
        max(case when newest_first = 1 then kpi_date end) as latest_kpi_date,
        max(case when newest_first = 1 then member_count end) as member_count,
        max(case when newest_first = 1 then previous_member_count end) as previous_member_count,
        max(case when window_oldest_first = 1 and kpi_date >= {{ window_start }} then member_count end)
            as population_at_window_start
    from segment_sizes
    group by segment_key
),

segment_window_totals as (
    select
        {%- for column in counts %}
            sum({{ column }}) as {{ column }},
        {%- endfor %}
        segment_key
    from fct_segment_kpis_daily
    where kpi_date between {{ window_start }} and {{ as_of_date() }}
    group by segment_key
),

baseline_window_totals as (
    select
        {%- for column in counts %}
            sum({{ column }}) as {{ column }},
        {%- endfor %}
        max(case when kpi_date = window_first_day then customer_count end) as population_at_window_start
    from (
        select
            *,
            min(kpi_date) over () as window_first_day
        from fct_all_customer_kpis_daily
        where kpi_date between {{ window_start }} and {{ as_of_date() }}
    ) as window_days
),

-- each KPI as numerator / denominator of the window's sums, for the segment and the baseline
segment_kpis as (
    select
        {%- for kpi in kpis %}
            {%- set segment_side = 'segment_size_trend' if kpi.denominator == 'population_at_window_start'
                else 'segment_window_totals' %}
            {{ kpi_rate('segment_window_totals.' ~ kpi.numerator, segment_side ~ '.' ~ kpi.denominator) }}
                as {{ kpi.name }},
            {{ kpi_rate('baseline_window_totals.' ~ kpi.numerator, 'baseline_window_totals.' ~ kpi.denominator) }}
                as baseline_{{ kpi.name }},
        {%- endfor %}
        {%- for column in counts %}
            cast(
                coalesce(segment_window_totals.{{ column }}, 0)
                as {{ 'decimal(18, 2)' if column.endswith('_usd') else dbt.type_bigint() }}
            ) as {{ column }},
        {%- endfor %}
        active_segments.segment_key,
        active_segments.segment_name,
        segment_size_trend.latest_kpi_date,
        segment_size_trend.member_count,
        segment_size_trend.previous_member_count,
        segment_size_trend.population_at_window_start
    from active_segments
    left join segment_size_trend
        on active_segments.segment_key = segment_size_trend.segment_key
    left join segment_window_totals
        on active_segments.segment_key = segment_window_totals.segment_key
    cross join baseline_window_totals
),

final as (
    select
        segment_key,
        segment_name,
        {%- for column in counts %}
            {{ column }},
        {%- endfor %}
        {%- for kpi in kpis %}
            {{ kpi.name }},
            baseline_{{ kpi.name }},
            {{ kpi_rate(kpi.name, 'baseline_' ~ kpi.name) }} - 1 as {{ kpi.name }}_lift,
        {%- endfor %}
        {{ segment_sql_string(primary) }} as primary_kpi,
        cast(rank() over (
            order by {{ primary }} {{ 'desc' if primary_kpi.higher_is_better else 'asc' }} nulls last
        ) as {{ dbt.type_int() }}) as primary_kpi_rank,
        cast(member_count as {{ dbt.type_bigint() }}) as member_count,
        cast(population_at_window_start as {{ dbt.type_bigint() }}) as member_count_at_window_start,
        cast(member_count - population_at_window_start as {{ dbt.type_bigint() }}) as member_count_window_change,
        cast(previous_member_count as {{ dbt.type_bigint() }}) as previous_member_count,
        cast(member_count - previous_member_count as {{ dbt.type_bigint() }}) as member_count_day_over_day_change,
        {{ kpi_rate('member_count - previous_member_count', 'previous_member_count') }}
            as member_count_day_over_day_change_ratio,
        {{ segment_size_change_is_abnormal('previous_member_count', 'member_count', 'growth') }} as is_abnormal_growth,
        {{ segment_size_change_is_abnormal('previous_member_count', 'member_count', 'shrink') }} as is_abnormal_shrink,
        latest_kpi_date,
        cast({{ window_start }} as date) as window_start_date,
        {{ as_of_date() }} as as_of_date
    from segment_kpis
)

select * from final
