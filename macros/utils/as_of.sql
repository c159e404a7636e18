{#- The point in time every customer feature is computed at.
    `as_of` (YYYY-MM-DD, UTC) comes from the project variable, else from $SEGMENTS_AS_OF
    (run_parameter); empty means today (UTC). Features include data at or before the end
    of that day and nothing later. -#}
{% macro as_of_date_string() %}
    {%- set raw_value = (run_parameter('as_of') or '') | string | trim -%}
    {%- if raw_value in ('', 'none', 'None', 'today') -%}
        {{ return(modules.datetime.datetime.utcnow().strftime('%Y-%m-%d')) }}
    {%- endif -%}
    {%- set parsed = none -%}
    {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', raw_value) -%}
        {%- set parsed = modules.datetime.datetime.strptime(raw_value, '%Y-%m-%d') -%}
    {%- endif -%}
    {%- if parsed is none -%}
        {{ exceptions.raise_compiler_error("The variable as_of must be a date written YYYY-MM-DD (for example --vars '{as_of: 2026-03-01}'); got '" ~ raw_value ~ "'.") }}
    {%- endif -%}
    {{ return(raw_value) }}
{% endmacro %}

{#- The as_of day as a SQL date. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{#- Exclusive upper bound for event timestamps: midnight UTC after the as_of day. -#}
{% macro as_of_cutoff() -%}
    {%- set next_day = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d') + modules.datetime.timedelta(days=1) -%}
    cast('{{ next_day.strftime("%Y-%m-%d") }} 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}
