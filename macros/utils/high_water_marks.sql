{#- The high-water marks of an incremental model, read from {{ this }} before its query runs
    and returned as timestamp literals: a dict from each name of `aggregates` to
    `cast('<timestamp>' as timestamp)`. Each aggregate over {{ this }} (e.g.
    `max(max_loaded_at)`) falls back to 1900-01-01 when it is null, so a table with no row
    yet gives the beginning and the run treats everything as new.
    A literal, unlike a scalar subquery or a joined one-row CTE, is known when the engine
    plans the query: a filter on load time prunes the row groups of earlier loads at the
    scan, and the engine sizes the run's batch from it. With the subquery, DuckDB expected a
    base model's batch to be as large as its history and built the lookup of previously
    staged keys from the whole history instead of from the batch (see DECISIONLOG.md).
    In a dbt unit test, {{ this }} is the test's fixture, which does not exist until the
    test query runs, so there each mark is the same aggregate as a scalar subquery. -#}
{% macro high_water_marks(aggregates) -%}
    {%- set marks = {} -%}
    {%- set or_beginning = {} -%}
    {%- for name, aggregate in aggregates.items() -%}
        {%- do or_beginning.update({name: 'coalesce(' ~ aggregate ~ ", cast('1900-01-01' as " ~ dbt.type_timestamp() ~ '))'}) -%}
    {%- endfor -%}
    {%- if model.resource_type == 'unit_test' -%}
        {%- for name in aggregates -%}
            {%- do marks.update({name: '(select ' ~ or_beginning[name] ~ ' from ' ~ this ~ ')'}) -%}
        {%- endfor -%}
        {{ return(marks) }}
    {%- endif -%}
    {%- set query -%}
        select
        {%- for name in aggregates %}
            {{ or_beginning[name] }} as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ this }}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- for name in aggregates -%}
        {%- set value = row[name] -%}
        {%- set text = value if value is string else value.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
        {%- do marks.update({name: "cast('" ~ text ~ "' as " ~ dbt.type_timestamp() ~ ")"}) -%}
    {%- endfor -%}
    {{ return(marks) }}
{%- endmacro %}
