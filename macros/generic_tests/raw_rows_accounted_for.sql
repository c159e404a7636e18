{#- Row accounting for one source table: every raw row is staged, a removed duplicate,
    or quarantined with a reason. Attached to the source; fails with the counts when
    raw rows != staged + duplicates + quarantined.
    duplicates are recounted independently from the base model: usable rows minus
    distinct natural keys among them.
    With `window_days`, only rows loaded in the last `window_days` days before the newest
    load are accounted for (every load is checked by the builds of the days after it), and
    a usable row of the window is a duplicate unless it is the first delivery of a key
    with no usable delivery before the window; the earlier keys are looked up only for
    the keys of the window, so the check reads the window, not the whole history. The var
    `raw_rows_accounted_after` (a timestamp, passed by scripts/scheduled_build.py: the
    loads of the last successful whole-project build) replaces the `window_days` window
    with the rows loaded after it, so each load is accounted for by the first build that
    succeeds after it, however long ago. The var `raw_rows_accounting_full: true` forces
    the whole-table check. When no usable row was loaded before the window (a first
    build, or every load within the window), no key of the window can have an earlier
    delivery: a one-row probe finds that out and the lookup of earlier keys is left out,
    since building it would hash every key of the window for nothing. -#}
{% test raw_rows_accounted_for(model, base_model, staged_model, quarantine_model, source_table, natural_key, window_days=none) %}
{%- set windowed = window_days is not none and not var('raw_rows_accounting_full', false) -%}
{%- set accounted_after = raw_rows_accounted_after() -%}
{#- The rows a check counts: with a window, those loaded after its start; else all. -#}
{%- set in_window = ' > (select loaded_after from window_start)' if windowed else none -%}
{%- set window_start_sql -%}
    {%- if accounted_after -%}
    select cast('{{ accounted_after }}' as {{ dbt.type_timestamp() }}) as loaded_after
    {%- else -%}
    select {{ dbt.dateadd('day', -1 * (window_days | int), 'max(_loaded_at)') }} as loaded_after
    from {{ model }}
    {%- endif -%}
{%- endset -%}
{#- Whether the base model has a usable row loaded at or before the window start, asked
    with a one-row probe while executing only; at parse time, or before the base model is
    built (`dbt compile`, `dbt docs generate` on a new warehouse), the answer is yes, which
    keeps the lookup of earlier keys: never wrong, only slower. -#}
{%- set lookup_earlier_keys = windowed -%}
{%- if windowed and execute and load_relation(base_model) is not none -%}
    {%- set probe -%}
        select count(*) as row_count
        from (
            select 1 as found
            from {{ base_model }}
            where quarantine_reason is null
                and _loaded_at <= (select loaded_after from ({{ window_start_sql }}) as window_start)
            limit 1
        ) as earlier_usable_row
    {%- endset -%}
    {%- set lookup_earlier_keys = run_query(probe).columns[0].values()[0] | int > 0 -%}
{%- endif -%}
with

{% if windowed -%}
window_start as (
    {{ window_start_sql }}
),

{% endif -%}
raw_rows as (
    select count(*) as row_count
    from {{ model }}
    {%- if in_window %}
    where _loaded_at{{ in_window }}
    {%- endif %}
),

staged_rows as (
    select count(*) as row_count
    from {{ staged_model }}
    {%- if in_window %}
    where loaded_at{{ in_window }}
    {%- endif %}
),

quarantined_rows as (
    select count(*) as row_count
    from {{ quarantine_model }}
    where source_table = '{{ source_table }}'
    {%- if in_window %}
        and loaded_at{{ in_window }}
    {%- endif %}
),

-- Read twice (the row count and the distinct keys), one column: inlined, not held whole.
usable_rows as {{ not_materialized() }} (
    select {{ natural_key | join(', ') }}
    from {{ base_model }}
    where quarantine_reason is null
    {%- if in_window %}
        and _loaded_at{{ in_window }}
    {%- endif %}
),

usable_keys as (
    select count(*) as key_count
    from (
        select distinct {{ natural_key | join(', ') }}
        from usable_rows
    ) as distinct_usable_keys
),

{% if lookup_earlier_keys -%}
-- Earlier usable deliveries of the window's keys: prefiltered on the first key column,
-- so only the rows of redelivered keys are read back, then matched on the whole key.
keys_usable_before_window as (
    select distinct
        {%- for column in natural_key %}
        {{ column }} as earlier_{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ base_model }}
    where quarantine_reason is null
        and _loaded_at <= (select loaded_after from window_start)
        and {{ natural_key[0] }} in (select {{ natural_key[0] }} from usable_rows)
),

window_keys_delivered_before as (
    select count(*) as key_count
    from keys_usable_before_window
    where exists (
        select 1
        from usable_rows
        where
            {%- for column in natural_key %}
            {{ "and " if not loop.first }}usable_rows.{{ column }} = keys_usable_before_window.earlier_{{ column }}
            {%- endfor %}
    )
),

{% endif -%}
-- Every usable row is a duplicate but the first delivery of each key (in a window: of
-- each key that had no usable delivery before the window).
duplicate_rows as (
    select
        (select count(*) from usable_rows)
        - (select key_count from usable_keys)
        {%- if lookup_earlier_keys %}
        + (select key_count from window_keys_delivered_before)
        {%- endif %} as row_count
)

select
    raw_rows.row_count as raw_row_count,
    staged_rows.row_count as staged_row_count,
    duplicate_rows.row_count as duplicate_row_count,
    quarantined_rows.row_count as quarantined_row_count
from raw_rows
cross join staged_rows
cross join duplicate_rows
cross join quarantined_rows
where raw_rows.row_count
    <> staged_rows.row_count + duplicate_rows.row_count + quarantined_rows.row_count
{% endtest %}
