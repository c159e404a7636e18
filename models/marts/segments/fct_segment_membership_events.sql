-- One row per change of a customer's membership in a segment, read from the membership
-- history: entering or leaving the segment (entered / exited) and gaining or losing it as
-- the primary segment (primary_gained / primary_lost), with the as_of date and start of
-- the build that saw the change, the reason and the profile values the rule read then.
with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

tracked_spells as (
    select * from int_segment_memberships_historized
    where membership_state in ('member', 'primary')
),

entries as (
    select
        customer_id,
        segment_key,
        case when membership_state = 'primary' then 'primary_gained' else 'entered' end as event_type,
        valid_from_date as event_date,
        opened_at as recorded_at,
        entry_reason as event_reason,
        entry_rule_hash as rule_hash,
        entry_evidence as rule_evidence
    from tracked_spells
),

exits as (
    select
        customer_id,
        segment_key,
        case when membership_state = 'primary' then 'primary_lost' else 'exited' end as event_type,
        valid_to_date as event_date,
        closed_at as recorded_at,
        exit_reason as event_reason,
        entry_rule_hash as rule_hash,
        exit_evidence as rule_evidence
    from tracked_spells
    where valid_to_date is not null
),

all_events as (
    select * from entries
    union all
    select * from exits
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'customer_id', "'|'",
            'segment_key', "'|'",
            'event_type', "'|'",
            dbt.cast('recorded_at', dbt.type_string()),
        ])) }} as segment_membership_event_id,
        customer_id,
        segment_key,
        event_type,
        event_date,
        recorded_at,
        event_reason,
        rule_hash,
        rule_evidence
    from all_events
)

select * from final
