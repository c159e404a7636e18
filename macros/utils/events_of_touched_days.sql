{#- The events of every identifier-day touched since a model's load high-water mark: the
    identifier columns and UTC day (`activity_date`) of each event loaded after
    `marks.loaded_through` (however long ago it occurred), then every event of those
    identifier-days, the earlier loads included, so a model can recompute each touched day
    whole. A null identifier matches a null one (a web visitor pair may lack either side).
    The filter on the earliest touched day repeats what the join implies, as a one-column
    bound the engine applies at the scan. `events_relation` is read twice, as a relation:
    DuckDB materialises a CTE that is read twice, and here it would be every event. -#}
{% macro events_of_touched_days(events_relation, identifier_columns, marks) -%}
    with

    touched_days as (
        select distinct
            {%- for column in identifier_columns %}
            loaded_events.{{ column }},
            {%- endfor %}
            cast(loaded_events.occurred_at as date) as activity_date
        from {{ events_relation }} as loaded_events
        where {{ loaded_since_high_water_mark('loaded_events.loaded_at', marks) }}
    )

    select all_events.*
    from {{ events_relation }} as all_events
    inner join touched_days
        on cast(all_events.occurred_at as date) = touched_days.activity_date
        {%- for column in identifier_columns %}
        and coalesce(all_events.{{ column }}, '') = coalesce(touched_days.{{ column }}, '')
        {%- endfor %}
    where all_events.occurred_at >= (
        select cast(min(touched_days.activity_date) as {{ dbt.type_timestamp() }})
        from touched_days
    )
{%- endmacro %}

{#- The key of an identifier-day: a hash of the identifier columns and the day, the unit a
    model built on `events_of_touched_days` replaces (delete+insert). -#}
{% macro identifier_day_key(identifier_columns, date_column='activity_date') -%}
    {%- set parts = [] -%}
    {%- for column in identifier_columns -%}
        {%- do parts.append("coalesce(" ~ column ~ ", '')") -%}
        {%- do parts.append("'|'") -%}
    {%- endfor -%}
    {%- do parts.append("cast(" ~ date_column ~ " as " ~ dbt.type_string() ~ ")") -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
