{#- A high-water mark read from {{ this }}, or 1900-01-01 when it is null (a table with no
    row yet), so an incremental model treats everything as new. -#}
{% macro mark_or_beginning(expression) -%}
    coalesce({{ expression }}, cast('1900-01-01' as {{ dbt.type_timestamp() }}))
{%- endmacro %}
