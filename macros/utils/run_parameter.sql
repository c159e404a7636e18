{#- A value that changes from one run to the next (as_of, the scheduled build's marks):
    the var `name` when it is given and not empty (--vars, else dbt_project.yml), else
    the environment variable SEGMENTS_<NAME> when it is set and not empty, else none.
    scripts/scheduled_build.py passes these values as environment variables: dbt parses
    the whole project again whenever --vars differ from its last run, which would be
    every scheduled run. The environment variable is read only while executing, never
    while parsing, so dbt does not tie any file's parse to it and keeps its saved parse. -#}
{% macro run_parameter(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is not none and value | string | trim != '' -%}
        {{ return(value) }}
    {%- endif -%}
    {%- if execute -%}
        {%- set from_environment = env_var('SEGMENTS_' ~ name | upper, '') | trim -%}
        {%- if from_environment != '' -%}
            {{ return(from_environment) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}
