{#- The segments of every ACTIVE audience as SQL rows (select ... union all select ...):
    audience_key, segment_key, selection ('primary', 'any' or 'exclude'), with the
    audience's channel, consent purpose, holdout percentage and suppressions (a
    comma-separated list wrapped in commas, ',global_unsubscribe,manual,', so a
    `like '%,manual,%'` test is exact). Paused and archived audiences have no rows. An
    empty, typed result when no active audience has a segment. -#}
{% macro audience_segment_rows() -%}
    {%- set rows = [] -%}
    {%- for audience in audience_registry('audiences') if audience.status == 'active' -%}
        {%- for selection in ['primary', 'any', 'exclude'] -%}
            {%- for segment_key in (audience.segments or {}).get(selection) or [] -%}
                {%- do rows.append({'audience': audience, 'segment_key': segment_key, 'selection': selection}) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as audience_key,
        cast(null as {{ dbt.type_string() }}) as segment_key,
        cast(null as {{ dbt.type_string() }}) as selection,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as consent_purpose,
        cast(null as {{ dbt.type_int() }}) as holdout_percent,
        cast(null as {{ dbt.type_string() }}) as suppressions
    where 1 = 0
    {%- endif -%}
    {%- for row in rows %}
    select
        {{ segment_sql_string(row.audience.key) }} as audience_key,
        {{ segment_sql_string(row.segment_key) }} as segment_key,
        '{{ row.selection }}' as selection,
        {{ segment_sql_string(row.audience.channel) }} as channel,
        {{ segment_sql_string(row.audience.consent_purpose) }} as consent_purpose,
        cast({{ row.audience.holdout_percent | int }} as {{ dbt.type_int() }}) as holdout_percent,
        {{ segment_sql_string(',' ~ ((row.audience.suppressions or []) | join(',')) ~ ',') }} as suppressions
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
