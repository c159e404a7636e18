{#- True when the whole text matches the regular expression (POSIX-style, no flags). -#}
{% macro matches_pattern(field, pattern) %}
    {{ return(adapter.dispatch('matches_pattern', 'dynamic_segments')(field, pattern)) }}
{% endmacro %}

{% macro default__matches_pattern(field, pattern) %}
    ({{ field }} ~ '^(?:{{ pattern }})$')
{% endmacro %}

{% macro duckdb__matches_pattern(field, pattern) %}
    regexp_full_match({{ field }}, '{{ pattern }}')
{% endmacro %}

{% macro spark__matches_pattern(field, pattern) %}
    ({{ field }} rlike '^(?:{{ pattern }})$')
{% endmacro %}
