-- One row per segment in the segment registry, whatever its status, with its size at as_of.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

registry_rows as (
    {{ segment_catalog_rows() }}
),

segment_sizes as (
    select
        segment_key,
        count(*) as member_count
    from int_segment_memberships
    group by segment_key
),

final as (
    select
        registry_rows.segment_key,
        registry_rows.segment_name,
        registry_rows.segment_description,
        registry_rows.rule_sql,
        registry_rows.conditions_json,
        registry_rows.membership_condition_sql,
        registry_rows.rule_hash,
        registry_rows.owner,
        registry_rows.status,
        registry_rows.parent_segment_key,
        registry_rows.priority,
        registry_rows.review_by_date,
        registry_rows.channels,
        registry_rows.is_default,
        registry_rows.requires_consent,
        registry_rows.evaluation_level,
        coalesce(
            registry_rows.status != 'archived'
            and registry_rows.review_by_date < {{ as_of_date() }},
            false
        ) as is_review_overdue,
        cast(coalesce(segment_sizes.member_count, 0) as {{ dbt.type_bigint() }}) as member_count,
        {{ as_of_date() }} as as_of_date
    from registry_rows
    left join segment_sizes
        on registry_rows.segment_key = segment_sizes.segment_key
)

select * from final
