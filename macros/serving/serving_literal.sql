{#- A SQL string literal of a text value. -#}
{% macro serving_literal(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}
