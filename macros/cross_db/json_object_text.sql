{#- A JSON object, as text, of the given columns: one key per column name, in the order
    given, each with the column's value (numbers and booleans stay JSON numbers and
    booleans, nulls stay null). `qualifier` prefixes each column (a table or CTE name).
    An empty list gives '{}'. Dispatched: the SQL standard `json_object(key value expr)`
    by default; DuckDB, PostgreSQL and Snowflake spell it their own way. -#}
{% macro json_object_text(columns, qualifier=none) -%}
    {%- if columns | length == 0 -%}
        cast('{}' as {{ dbt.type_string() }})
    {%- else -%}
        {%- set pairs = [] -%}
        {%- for column in columns -%}
            {%- do pairs.append(("'" ~ column ~ "'", (qualifier ~ '.' if qualifier else '') ~ column)) -%}
        {%- endfor -%}
        {{ return(adapter.dispatch('json_object_text', 'dynamic_segments')(pairs)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, value in pairs %}{{ key }} value {{ value }}{{ ', ' if not loop.last }}{% endfor -%}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, value in pairs %}{{ key }}, {{ value }}{{ ', ' if not loop.last }}{% endfor -%}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__json_object_text(pairs) -%}
    cast(json_build_object(
        {%- for key, value in pairs %}{{ key }}, {{ value }}{{ ', ' if not loop.last }}{% endfor -%}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro snowflake__json_object_text(pairs) -%}
    to_json(object_construct_keep_null(
        {%- for key, value in pairs %}{{ key }}, {{ value }}{{ ', ' if not loop.last }}{% endfor -%}
    ))
{%- endmacro %}
