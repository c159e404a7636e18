-- One row per customer per active segment whose rule matched at as_of (profile complete
-- enough) but who is not a member because they consent to none of the segment's channels:
-- the channels that lack consent, the profile values the condition read (consent flags
-- included) and since when the match has been blocked.
with

int_segment_membership_states as (
    select * from {{ ref('int_segment_membership_states') }}
),

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

active_segments as (
    select * from (
        {{ segment_catalog_rows(statuses=['active']) }}
    ) as registry_rows
),

blocked_matches as (
    select
        customer_id,
        segment_key,
        rule_evidence
    from int_segment_membership_states
    where membership_state = 'consent_blocked'
),

open_blocks as (
    select
        customer_id,
        segment_key,
        valid_from_date,
        entry_reason
    from int_segment_memberships_historized
    where membership_state = 'consent_blocked'
        and valid_to_date is null
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'blocked_matches.customer_id', "'|'",
            'blocked_matches.segment_key',
        ])) }} as segment_consent_block_id,
        blocked_matches.customer_id,
        blocked_matches.segment_key,
        active_segments.segment_name,
        active_segments.channels as missing_consent_channels,
        blocked_matches.rule_evidence,
        open_blocks.valid_from_date as blocked_since_date,
        open_blocks.entry_reason as blocked_reason,
        {{ as_of_date() }} as as_of_date
    from blocked_matches
    inner join active_segments
        on blocked_matches.segment_key = active_segments.segment_key
    left join open_blocks
        on blocked_matches.customer_id = open_blocks.customer_id
            and blocked_matches.segment_key = open_blocks.segment_key
)

select * from final
