{#- Trims text and turns empty strings into null, so "missing" has one spelling. -#}
{% macro clean_text(field) -%}
    nullif(trim({{ field }}), '')
{%- endmacro %}
