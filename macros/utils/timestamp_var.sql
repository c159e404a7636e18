{#- The value of a run parameter that a scheduled build passes as a timestamp (UTC): the
    var, else $SEGMENTS_<NAME> (run_parameter), validated as YYYY-MM-DD HH:MM:SS[.ffffff];
    none when neither is given. -#}
{% macro timestamp_var(name) %}
    {%- set value = run_parameter(name) -%}
    {%- if value is not none and not modules.re.match('^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$', value | string) -%}
        {{ exceptions.raise_compiler_error("The variable " ~ name ~ " must be a timestamp written YYYY-MM-DD HH:MM:SS[.ffffff]; got '" ~ value ~ "'.") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}
