{#- Parses YYYY-MM-DD text into a date; anything else (including impossible dates) becomes null. -#}
{% macro parse_date(field) %}
    {{ return(adapter.dispatch('parse_date', 'dynamic_segments')(field)) }}
{% endmacro %}

{% macro default__parse_date(field) %}
    case
        when trim({{ field }}) ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$'
            then cast(trim({{ field }}) as date)
    end
{% endmacro %}

{% macro duckdb__parse_date(field) %}
    try_cast(trim({{ field }}) as date)
{% endmacro %}

{% macro spark__parse_date(field) %}
    try_cast(trim({{ field }}) as date)
{% endmacro %}
