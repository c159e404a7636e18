{#- The email and order KPI columns of a daily KPI mart, in the marts' order, from a
    relation (alias `sums`) holding one row per group with the summed columns of
    int_customer_kpi_activity_daily (kpi_activity_sums; null when the group had no
    activity, read as 0). Rates and revenue per recipient are null when their
    denominator is 0 (kpi_rate). Shared by fct_segment_kpis_daily and
    fct_all_customer_kpis_daily, so the segments and the all-customer baseline are
    computed alike. Ends without a trailing comma. -#}
{% macro kpi_activity_columns(sums='sums') -%}
    {%- set counts_before_rates = ['recipient_count', 'send_count', 'delivery_count', 'unique_open_count',
        'machine_open_count', 'unique_click_count'] -%}
    {%- for column in counts_before_rates %}
    {{ kpi_count(sums ~ '.' ~ column) }} as {{ column }},
    {%- endfor %}
    {{ kpi_rate(sums ~ '.unique_click_count', sums ~ '.delivery_count') }} as click_through_rate,
    {{ kpi_rate(sums ~ '.unique_click_count', sums ~ '.unique_open_count') }} as click_to_open_rate,
    {{ kpi_count(sums ~ '.unsubscribe_count') }} as unsubscribe_count,
    {{ kpi_count(sums ~ '.conversion_count') }} as conversion_count,
    cast(coalesce({{ sums }}.attributed_revenue_usd, 0) as decimal(18, 2)) as attributed_revenue_usd,
    cast(
        {{ kpi_rate(sums ~ '.attributed_revenue_usd', sums ~ '.recipient_count') }}
        as decimal(18, 2)
    ) as revenue_per_recipient_usd
{%- endmacro %}
