{#- Parses text into a number of the given type; text that is not a number becomes null. -#}
{% macro parse_number(field, data_type) %}
    {{ return(adapter.dispatch('parse_number', 'dynamic_segments')(field, data_type)) }}
{% endmacro %}

{% macro default__parse_number(field, data_type) %}
    case
        when trim({{ field }}) ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
            then cast(trim({{ field }}) as {{ data_type }})
    end
{% endmacro %}

{% macro duckdb__parse_number(field, data_type) %}
    try_cast(trim({{ field }}) as {{ data_type }})
{% endmacro %}

{% macro spark__parse_number(field, data_type) %}
    try_cast(trim({{ field }}) as {{ data_type }})
{% endmacro %}
