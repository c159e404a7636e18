{#- Lower-cases and trims an email address; empty becomes null. -#}
{% macro normalize_email(field) -%}
    nullif(lower(trim({{ field }})), '')
{%- endmacro %}
