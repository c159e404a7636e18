{#- Aggregate: the first non-null `value` of the group in the order of `order_by` (the
    value of the row with the smallest `order_by` among the rows where `value` is not
    null). `order_by` must be unique within the group. Dispatched: DuckDB's `arg_min`,
    Spark's `min_by`; elsewhere the minimum of the zero-padded order number followed by
    the value, which needs `order_by` to be a non-negative integer below 10^20. -#}
{% macro first_non_null_by(value, order_by) -%}
    {{ return(adapter.dispatch('first_non_null_by', 'dynamic_segments')(value, order_by)) }}
{%- endmacro %}

{% macro default__first_non_null_by(value, order_by) -%}
    substring(
        min(case when {{ value }} is not null then {{ dbt.concat([
            "lpad(cast(" ~ order_by ~ " as " ~ dbt.type_string() ~ "), 20, '0')",
            "cast(" ~ value ~ " as " ~ dbt.type_string() ~ ")",
        ]) }} end),
        21
    )
{%- endmacro %}

{% macro duckdb__first_non_null_by(value, order_by) -%}
    arg_min({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}

{% macro spark__first_non_null_by(value, order_by) -%}
    min_by({{ value }}, case when {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}
