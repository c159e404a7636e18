{#- A text value as a SQL string literal (single quotes doubled); null for none. -#}
{% macro segment_sql_string(value) -%}
    {%- if value is none -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
