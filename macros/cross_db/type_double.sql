{#- A double-precision (8-byte) floating-point type for statistics such as p-values, which
    single precision would round (dbt.type_float() is 4-byte REAL on DuckDB).
    Dispatched: the type's name differs by warehouse. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'dynamic_segments')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}
