{#- Parses ISO-8601 text (with or without a UTC offset) into a UTC timestamp without
    time zone; text that is not a valid timestamp becomes null instead of failing. -#}
{% macro parse_timestamp_utc(field) %}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'dynamic_segments')(field)) }}
{% endmacro %}

{% macro default__parse_timestamp_utc(field) %}
    case
        when {{ field }} ~ '^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$'
            then cast(cast(trim({{ field }}) as timestamp with time zone) at time zone 'UTC' as timestamp)
    end
{% endmacro %}

{% macro duckdb__parse_timestamp_utc(field) %}
    cast(timezone('UTC', try_cast(trim({{ field }}) as timestamp with time zone)) as timestamp)
{% endmacro %}

{% macro spark__parse_timestamp_utc(field) %}
    {#- Spark parses offsets into the session time zone, which the profile pins to UTC. -#}
    try_cast(trim({{ field }}) as timestamp)
{% endmacro %}
