{#- The key of the default segment, and its too-incomplete condition when `part` is 'condition'. -#}
{% macro segment_default(part='key') -%}
    {%- for segment in segment_definitions() if segment.is_default -%}
        {%- if part == 'key' -%}{{ segment_sql_string(segment.key) }}{%- else -%}{{ segment.match_condition }}{%- endif -%}
    {%- endfor -%}
{%- endmacro %}
