{#- The predicate `column` later than `timestamp` (a validated timestamp_var value, written
    as a literal); none when `timestamp` is none, so callers can fall back to every row. -#}
{% macro later_than_timestamp(column, timestamp) %}
    {%- if timestamp is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(column ~ " > cast('" ~ timestamp ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{% endmacro %}
