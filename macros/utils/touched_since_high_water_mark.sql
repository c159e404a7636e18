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

{#- Its first half: the row was loaded after the model's load high-water mark. A select
    over an event-sized table passes the two halves to `union_where_either` instead of
    `or`-ing them. -#}
{% macro loaded_since_high_water_mark(loaded_at, marks, loaded_through='loaded_through') -%}
    {{ loaded_at }} > {{ marks[loaded_through] }}
{%- endmacro %}

{#- Its second half: the event is within var('incremental_lookback_days') of event time
    before the newest one processed. -#}
{% macro within_lookback_of_high_water_mark(occurred_at, marks) -%}
    {{ occurred_at }} > {{ dbt.dateadd('day', -1 * (var('incremental_lookback_days') | int), marks.occurred_through) }}
{%- endmacro %}
