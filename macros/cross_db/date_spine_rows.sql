{#- One row per day from start_date to end_date (both inclusive, SQL date expressions), in a
    column named spine_date. Dispatched: DuckDB generates the series; the default counts
    days with a cross join of digits (up to 100,000 days) and dbt.dateadd. -#}
{% macro date_spine_rows(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine_rows', 'dynamic_segments')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine_rows(start_date, end_date) -%}
    select {{ dbt.dateadd('day', 'day_numbers.day_number', start_date) }} as spine_date
    from (
        select
            ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit
            + 10000 * ten_thousands.digit as day_number
        {%- for place in ['ones', 'tens', 'hundreds', 'thousands', 'ten_thousands'] %}
        {{ 'from' if loop.first else 'cross join' }} (
            select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
            union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
        ) as {{ place }}
        {%- endfor %}
    ) as day_numbers
    where {{ dbt.dateadd('day', 'day_numbers.day_number', start_date) }} <= {{ end_date }}
{%- endmacro %}

{% macro duckdb__date_spine_rows(start_date, end_date) -%}
    select cast(generate_series as date) as spine_date
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
{%- endmacro %}
