-- One row per customer who belongs to more than one segment at as_of: the segment that
-- won on priority (lowest number) and the ones it overrode, in priority order.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

winning_memberships as (
    select
        customer_id,
        segment_key,
        segment_priority,
        as_of_date
    from int_segment_memberships
    where is_primary_segment
),

overridden_summary as (
    select
        customer_id,
        {{ dbt.listagg('segment_key', "'|'", 'order by segment_priority') }} as overridden_segment_keys,
        count(*) as overridden_segment_count
    from int_segment_memberships
    where not is_primary_segment
    group by customer_id
),

final as (
    select
        winning_memberships.customer_id,
        winning_memberships.segment_key as winning_segment_key,
        winning_memberships.segment_priority as winning_segment_priority,
        overridden_summary.overridden_segment_keys,
        cast(overridden_summary.overridden_segment_count + 1 as {{ dbt.type_int() }}) as matched_segment_count,
        winning_memberships.as_of_date
    from winning_memberships
    inner join overridden_summary
        on winning_memberships.customer_id = overridden_summary.customer_id
)

select * from final
