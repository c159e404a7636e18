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
    the whole-table check. -#}
{% test raw_rows_accounted_for(model, base_model, staged_model, quarantine_model, source_table, natural_key, window_days=none) %}
{%- set windowed = window_days is not none and not var('raw_rows_accounting_full', false) -%}
{%- set accounted_after = raw_rows_accounted_after() -%}
with

{% if windowed %}
window_start as (
    {%- if accounted_after %}
    select cast('{{ accounted_after }}' as {{ dbt.type_timestamp() }}) as loaded_after
    {%- else %}
    select {{ dbt.dateadd('day', -1 * (window_days | int), 'max(_loaded_at)') }} as loaded_after
    from {{ model }}
    {%- endif %}
),

raw_rows as (
    select count(*) as row_count
    from {{ model }}
    where _loaded_at > (select loaded_after from window_start)
),

staged_rows as (
    select count(*) as row_count
    from {{ staged_model }}
    where loaded_at > (select loaded_after from window_start)
),

quarantined_rows as (
    select count(*) as row_count
    from {{ quarantine_model }}
    where source_table = '{{ source_table }}'
        and loaded_at > (select loaded_after from window_start)
),

-- Read twice (the row count and the distinct keys), one column: inlined, not held whole.
usable_window_rows as {{ not_materialized() }} (
    select {{ natural_key | join(', ') }}
    from {{ base_model }}
    where quarantine_reason is null
        and _loaded_at > (select loaded_after from window_start)
),

usable_window_keys as (
    select count(*) as key_count
    from (
        select distinct {{ natural_key | join(', ') }}
        from usable_window_rows
    ) as distinct_window_keys
),

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
        and {{ natural_key[0] }} in (select {{ natural_key[0] }} from usable_window_rows)
),

window_keys_delivered_before as (
    select count(*) as key_count
    from keys_usable_before_window
    where exists (
        select 1
        from usable_window_rows
        where
            {%- for column in natural_key %}
            {{ "and " if not loop.first }}usable_window_rows.{{ column }} = keys_usable_before_window.earlier_{{ column }}
            {%- endfor %}
    )
),

-- Every usable row of the window is a duplicate but the first delivery of each key
-- that had no usable delivery before the window.
duplicate_rows as (
    select
        (select count(*) from usable_window_rows)
        - (select key_count from usable_window_keys)
        + (select key_count from window_keys_delivered_before) as row_count
)

{% else %}
raw_rows as (
    select count(*) as row_count from {{ model }}
),

staged_rows as (
    select count(*) as row_count from {{ staged_model }}
),

quarantined_rows as (
    select count(*) as row_count
    from {{ quarantine_model }}
    where source_table = '{{ source_table }}'
),

usable_keys as (
    select distinct {{ natural_key | join(', ') }}
    from {{ base_model }}
    where quarantine_reason is null
),

duplicate_rows as (
    select
        (select count(*) from {{ base_model }} where quarantine_reason is null)
        - (select count(*) from usable_keys) as row_count
)

{% endif %}
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
