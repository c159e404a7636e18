{#- Row accounting for one source table: every raw row is staged, a removed duplicate,
    or quarantined with a reason. Attached to the source; fails with the three counts
    when raw rows != staged + duplicates + quarantined.
    duplicates are recounted independently from the base model: usable rows minus
    distinct natural keys among them. -#}
{% test raw_rows_accounted_for(model, base_model, staged_model, quarantine_model, source_table, natural_key) %}
with

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
