{#- The audience registry as SQL rows (select ... union all select ...), one per audience
    whatever its status: its definition as dim_audiences lists it. Lists are
    comma-separated in registry order; an audience without a frequency cap has null cap
    columns. An empty, typed result when the registry has no audience. -#}
{% macro audience_catalog_rows() -%}
    {%- set audiences = audience_registry('audiences') -%}
    {%- if audiences | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as audience_key,
        cast(null as {{ dbt.type_string() }}) as audience_name,
        cast(null as {{ dbt.type_string() }}) as description,
        cast(null as {{ dbt.type_string() }}) as owner,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as consent_purpose,
        cast(null as {{ dbt.type_int() }}) as holdout_percent,
        cast(null as {{ dbt.type_int() }}) as frequency_cap_max_additions,
        cast(null as {{ dbt.type_int() }}) as frequency_cap_per_days,
        cast(null as {{ dbt.type_string() }}) as destination_keys,
        cast(null as {{ dbt.type_string() }}) as schedule
    where 1 = 0
    {%- endif -%}
    {%- for audience in audiences %}
    {%- set cap = audience.frequency_cap or {} %}
    select
        {{ segment_sql_string(audience.key) }} as audience_key,
        {{ segment_sql_string(audience.name) }} as audience_name,
        {{ segment_sql_string(audience.description) }} as description,
        {{ segment_sql_string(audience.owner) }} as owner,
        {{ segment_sql_string(audience.status) }} as status,
        {{ segment_sql_string(audience.channel) }} as channel,
        {{ segment_sql_string(audience.consent_purpose) }} as consent_purpose,
        cast({{ audience.holdout_percent | int }} as {{ dbt.type_int() }}) as holdout_percent,
        cast({{ cap.get('max_additions') if cap.get('max_additions') is not none else 'null' }} as {{ dbt.type_int() }}) as frequency_cap_max_additions,
        cast({{ cap.get('per_days') if cap.get('per_days') is not none else 'null' }} as {{ dbt.type_int() }}) as frequency_cap_per_days,
        {{ segment_sql_string((audience.destinations or []) | join(',')) }} as destination_keys,
        {{ segment_sql_string(audience.schedule) }} as schedule
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
