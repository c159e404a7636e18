-- One row per active audience per customer its segments take (audience registry,
-- models/marts/activation/_audience_registry.yml): customers whose primary segment is one
-- of the audience's `primary` segments, or who belong to any of its `any` segments. The
-- qualifying segment is the primary segment when it qualifies, else the customer's
-- highest-priority `any` segment; is_in_excluded_segment marks members of one of its
-- `exclude` segments (they are considered, then excluded). Paused and archived audiences
-- have no rows. The audience's channel, purpose, holdout and suppressions ride along.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

audience_segments as (
    select * from (
        {{ audience_segment_rows() }}
    ) as registry_rows
),

audiences as (
    select distinct
        audience_key,
        channel,
        consent_purpose,
        holdout_percent,
        suppressions
    from audience_segments
),

qualifying_memberships as (
    select
        audience_segments.audience_key,
        int_segment_memberships.customer_id,
        int_segment_memberships.segment_key,
        row_number() over (
            partition by audience_segments.audience_key, int_segment_memberships.customer_id
            order by
                case when audience_segments.selection = 'primary' then 0 else 1 end,
                int_segment_memberships.segment_priority,
                int_segment_memberships.segment_key
        ) as qualifying_rank
    from audience_segments
    inner join int_segment_memberships
        on audience_segments.segment_key = int_segment_memberships.segment_key
    where (audience_segments.selection = 'primary' and int_segment_memberships.is_primary_segment)
        or audience_segments.selection = 'any'
),

excluded_memberships as (
    select distinct
        audience_segments.audience_key,
        int_segment_memberships.customer_id
    from audience_segments
    inner join int_segment_memberships
        on audience_segments.segment_key = int_segment_memberships.segment_key
    where audience_segments.selection = 'exclude'
),

final as (
    select
        qualifying_memberships.audience_key,
        qualifying_memberships.customer_id,
        qualifying_memberships.segment_key as qualifying_segment_key,
        excluded_memberships.customer_id is not null as is_in_excluded_segment,
        audiences.channel,
        audiences.consent_purpose,
        audiences.holdout_percent,
        audiences.suppressions
    from qualifying_memberships
    inner join audiences
        on qualifying_memberships.audience_key = audiences.audience_key
    left join excluded_memberships
        on qualifying_memberships.audience_key = excluded_memberships.audience_key
            and qualifying_memberships.customer_id = excluded_memberships.customer_id
    where qualifying_memberships.qualifying_rank = 1
)

select * from final
