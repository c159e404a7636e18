{#- The rule the event-fed incremental models that recompute from history use to find what a run must recompute: a
    row loaded after the model's load high-water mark (exact, since loads are appended in
    `_loaded_at` order, however late the event occurred), or an event within
    var('incremental_lookback_days') of event time before the newest one processed (which
    also picks up events a moved as_of now admits). `marks` comes from `high_water_marks`
    and holds `loaded_through` and `occurred_through`; a source with a load high-water mark
    of its own names that mark as `loaded_through`. -#}
{% macro touched_since_high_water_mark(loaded_at, occurred_at, marks, loaded_through='loaded_through') -%}
    (
        {{ loaded_since_high_water_mark(loaded_at, marks, loaded_through) }}
        or {{ within_lookback_of_high_water_mark(occurred_at, marks) }}
    )
{%- endmacro %}

{% macro loaded_since_high_water_mark(loaded_at, marks, loaded_through='loaded_through') -%}
    {{ loaded_at }} > {{ marks[loaded_through] }}
{%- endmacro %}

{% macro within_lookback_of_high_water_mark(occurred_at, marks) -%}
    {{ occurred_at }} > {{ dbt.dateadd('day', -1 * (var('incremental_lookback_days') | int), marks.occurred_through) }}
{%- endmacro %}

{#- The rows of the calling block's select that `touched_since_high_water_mark` admits,
    for a select over an event-sized table; `loaded_at` and `occurred_at` name columns of
    the select's output. See `union_where_either`. -#}
{% macro touched_rows_since_high_water_mark(loaded_at, occurred_at, marks, loaded_through='loaded_through') -%}
    {%- set touched_rows_select = caller -%}
    {%- call union_where_either(
        loaded_since_high_water_mark(loaded_at, marks, loaded_through),
        within_lookback_of_high_water_mark(occurred_at, marks)
    ) -%}
        {{ touched_rows_select() }}
    {%- endcall -%}
{%- endmacro %}

{#- The rows of the calling block's select that satisfy `condition` or `other_condition`
    (both over the select's output columns), as a `union all` of two selects: the rows
    `condition` admits, and the rows `other_condition` admits that `condition` does not
    (null counts as not admitted, as in `or`).
    Each branch filters on one column against a literal, which the engine pushes into the
    scan and prunes by row group (DuckDB's zone maps); an `or` across two columns is
    evaluated on every row, so an incremental run read every event of the history to
    find one day's.
    With no conditions (none), the block as it is: all its rows, for a full build. -#}
{% macro union_where_either(condition, other_condition) -%}
    {%- if condition is none -%}
    {{ caller() }}
    {%- else -%}
    select *
    from (
        {{ caller() }}
    ) as rows_admitted
    where {{ condition }}

    union all

    select *
    from (
        {{ caller() }}
    ) as rows_admitted_otherwise
    where {{ other_condition }}
        and not coalesce({{ condition }}, false)
    {%- endif -%}
{%- endmacro %}
