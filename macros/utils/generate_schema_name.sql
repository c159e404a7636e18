{#- Models land in the schema their folder names (staging, intermediate, marts, ...)
    so analysts read `marts.dim_customers` on every target; without a custom schema
    they land in the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
