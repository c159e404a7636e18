{#- The sums of int_customer_kpi_activity_daily's count and revenue columns (alias
    `activity`) for a group by, each named as its column. -#}
{% macro kpi_activity_sums(activity='activity') -%}
    {%- set columns = ['recipient_count', 'send_count', 'delivery_count', 'unique_open_count',
        'machine_open_count', 'unique_click_count', 'unsubscribe_count', 'conversion_count',
        'attributed_revenue_usd', 'churned_count'] -%}
    {%- for column in columns %}
    sum({{ activity }}.{{ column }}) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
