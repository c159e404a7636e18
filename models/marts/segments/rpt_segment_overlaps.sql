-- One row per pair of active segments (segment_a_key sorts before segment_b_key): how many
-- customers belong to both at as_of and what share of each segment that is.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

active_segments as (
    select segment_key from (
        {{ segment_catalog_rows(statuses=['active']) }}
    ) as registry_rows
),

segment_sizes as (
    select
        active_segments.segment_key,
        cast(count(int_segment_memberships.customer_id) as {{ dbt.type_bigint() }}) as member_count
    from active_segments
    left join int_segment_memberships
        on active_segments.segment_key = int_segment_memberships.segment_key
    group by active_segments.segment_key
),

segment_pairs as (
    select
        segment_a.segment_key as segment_a_key,
        segment_b.segment_key as segment_b_key,
        segment_a.member_count as segment_a_member_count,
        segment_b.member_count as segment_b_member_count
    from segment_sizes as segment_a
    inner join segment_sizes as segment_b
        on segment_a.segment_key < segment_b.segment_key
),

shared_members as (
    select
        membership_a.segment_key as segment_a_key,
        membership_b.segment_key as segment_b_key,
        count(*) as shared_customer_count
    from int_segment_memberships as membership_a
    inner join int_segment_memberships as membership_b
        on membership_a.customer_id = membership_b.customer_id
            and membership_a.segment_key < membership_b.segment_key
    group by membership_a.segment_key, membership_b.segment_key
),

final as (
    select
        segment_pairs.segment_a_key,
        segment_pairs.segment_b_key,
        segment_pairs.segment_a_member_count,
        segment_pairs.segment_b_member_count,
        cast(coalesce(shared_members.shared_customer_count, 0) as {{ dbt.type_bigint() }}) as shared_customer_count,
        cast(
            case
                when segment_pairs.segment_a_member_count > 0
                    then 1.0 * coalesce(shared_members.shared_customer_count, 0) / segment_pairs.segment_a_member_count
                else 0
            end as decimal(9, 4)
        ) as share_of_segment_a,
        cast(
            case
                when segment_pairs.segment_b_member_count > 0
                    then 1.0 * coalesce(shared_members.shared_customer_count, 0) / segment_pairs.segment_b_member_count
                else 0
            end as decimal(9, 4)
        ) as share_of_segment_b,
        {{ as_of_date() }} as as_of_date
    from segment_pairs
    left join shared_members
        on segment_pairs.segment_a_key = shared_members.segment_a_key
            and segment_pairs.segment_b_key = shared_members.segment_b_key
)

select * from final
