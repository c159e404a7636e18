{#- The registry as SQL rows (select ... union all select ...), one per segment whose
    status is in `statuses` (all statuses when none), with the columns of
    segment_definitions(). An empty, typed result when no segment qualifies. -#}
{% macro segment_catalog_rows(statuses=none, include_default=true) -%}
    {%- set rows = [] -%}
    {%- for segment in segment_definitions() -%}
        {%- if (statuses is none or segment.status in statuses) and (include_default or not segment.is_default) -%}
            {%- do rows.append(segment) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if rows | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as segment_key,
        cast(null as {{ dbt.type_string() }}) as segment_name,
        cast(null as {{ dbt.type_string() }}) as segment_description,
        cast(null as {{ dbt.type_string() }}) as rule_sql,
        cast(null as {{ dbt.type_string() }}) as conditions_json,
        cast(null as {{ dbt.type_string() }}) as membership_condition_sql,
        cast(null as {{ dbt.type_string() }}) as rule_hash,
        cast(null as {{ dbt.type_string() }}) as owner,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as parent_segment_key,
        cast(null as {{ dbt.type_int() }}) as priority,
        cast(null as date) as review_by_date,
        cast(null as {{ dbt.type_string() }}) as channels,
        cast(null as {{ dbt.type_boolean() }}) as is_default,
        cast(null as {{ dbt.type_boolean() }}) as requires_consent,
        cast(null as {{ dbt.type_int() }}) as evaluation_level
    where 1 = 0
    {%- endif -%}
    {%- for segment in rows %}
    select
        {{ segment_sql_string(segment.key) }} as segment_key,
        {{ segment_sql_string(segment.name) }} as segment_name,
        {{ segment_sql_string(segment.description) }} as segment_description,
        {{ segment_sql_string(segment.rule) }} as rule_sql,
        {{ segment_sql_string(segment.conditions_json) }} as conditions_json,
        {{ segment_sql_string(segment.membership_condition) }} as membership_condition_sql,
        {{ segment_sql_string(segment.rule_hash) }} as rule_hash,
        {{ segment_sql_string(segment.owner) }} as owner,
        {{ segment_sql_string(segment.status) }} as status,
        {{ segment_sql_string(segment.parent) }} as parent_segment_key,
        cast({{ segment.priority }} as {{ dbt.type_int() }}) as priority,
        cast({{ segment_sql_string(segment.review_by) }} as date) as review_by_date,
        {{ segment_sql_string(segment.channels_text) }} as channels,
        {{ 'true' if segment.is_default else 'false' }} as is_default,
        {{ 'true' if segment.requires_consent else 'false' }} as requires_consent,
        cast({{ segment.level }} as {{ dbt.type_int() }}) as evaluation_level
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
