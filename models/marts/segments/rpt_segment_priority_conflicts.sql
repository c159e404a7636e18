-- One row per customer who belongs to more than one segment at as_of: the segment that
-- won on priority (lowest number) and the ones it overrode, in priority order.
with

fct_segment_memberships as (
    select * from {{ ref('fct_segment_memberships') }}
),

dim_customer_segments as (
    select * from {{ ref('dim_customer_segments') }}
),

overridden_memberships as (
    select
        fct_segment_memberships.customer_id,
        fct_segment_memberships.segment_key,
        fct_segment_memberships.segment_priority
    from fct_segment_memberships
    inner join dim_customer_segments
        on fct_segment_memberships.customer_id = dim_customer_segments.customer_id
    where fct_segment_memberships.segment_key != dim_customer_segments.primary_segment_key
),

overridden_summary as (
    select
        customer_id,
        {{ dbt.listagg('segment_key', "'|'", 'order by segment_priority') }} as overridden_segment_keys,
        count(*) as overridden_segment_count
    from overridden_memberships
    group by customer_id
),

final as (
    select
        dim_customer_segments.customer_id,
        dim_customer_segments.primary_segment_key as winning_segment_key,
        dim_customer_segments.primary_segment_priority as winning_segment_priority,
        overridden_summary.overridden_segment_keys,
        cast(overridden_summary.overridden_segment_count + 1 as {{ dbt.type_int() }}) as matched_segment_count,
        dim_customer_segments.as_of_date
    from dim_customer_segments
    inner join overridden_summary
        on dim_customer_segments.customer_id = overridden_summary.customer_id
)

select * from final
