{#- The first value of a query's first row, run outside any transaction. -#}
{% macro serving_fetch_value(sql) %}
    {%- set response, table = adapter.execute(sql, auto_begin=false, fetch=true) -%}
    {{ return(table.rows[0][0]) }}
{% endmacro %}
