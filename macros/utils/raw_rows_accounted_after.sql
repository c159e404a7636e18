{#- The var `raw_rows_accounted_after`: the newest load already checked by a successful
    whole-project build, passed by scripts/scheduled_build.py; none when not given or when
    `raw_rows_accounting_full` is true. Tests on event-sized tables check only what was
    loaded after it. -#}
{% macro raw_rows_accounted_after() %}
    {%- set value = var('raw_rows_accounted_after', none) -%}
    {%- if value is not none and not modules.re.match('^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$', value | string) -%}
        {{ exceptions.raise_compiler_error("The variable raw_rows_accounted_after must be a timestamp written YYYY-MM-DD HH:MM:SS[.ffffff]; got '" ~ value ~ "'.") }}
    {%- endif -%}
    {{ return(none if var('raw_rows_accounting_full', false) else value) }}
{% endmacro %}
