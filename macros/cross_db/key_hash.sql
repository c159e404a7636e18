{#- A hash of one or more columns, for finding the few rows whose values may repeat
    before comparing the values themselves: equal values always hash alike, different
    values rarely do, and the result is never null. Grouping a large table on it is
    cheaper than grouping on long text keys. Dispatched: DuckDB's `hash`, Spark's
    `xxhash64`, Postgres' `hashtextextended`; elsewhere the md5 of the values as text. -#}
{% macro key_hash(columns) -%}
    {{ return(adapter.dispatch('key_hash', 'dynamic_segments')(columns)) }}
{%- endmacro %}

{% macro default__key_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro duckdb__key_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro postgres__key_hash(columns) -%}
    hashtextextended(concat_ws('|', {{ columns | join(', ') }}), 0)
{%- endmacro %}

{% macro spark__key_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}
