{#- SQL that fails with one line (DuckDB's error()), for a hook to report. -#}
{% macro serving_error_sql(message) %}
    {{ return('select error(' ~ serving_literal(message) ~ ')') }}
{% endmacro %}
