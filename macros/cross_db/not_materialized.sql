{#- The hint that keeps a common table expression inlined: `validated as <hint> (`.
    DuckDB materialises every CTE that is read more than once, with all its columns, and
    PostgreSQL may; inlining lets each read compute only the columns it needs. Engines
    without the hint (Spark inlines CTEs) get nothing. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'dynamic_segments')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro postgres__not_materialized() -%}
    not materialized
{%- endmacro %}
