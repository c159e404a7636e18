-- One row per customer entering or leaving a segment: the as_of date of the build that saw
-- the change and the reason, read from the membership spells.
with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

entries as (
    select
        customer_id,
        segment_key,
        'entered' as event_type,
        valid_from_date as event_date,
        entry_reason as event_reason,
        entry_rule_hash as rule_hash
    from int_segment_memberships_historized
),

exits as (
    select
        customer_id,
        segment_key,
        'exited' as event_type,
        valid_to_date as event_date,
        exit_reason as event_reason,
        entry_rule_hash as rule_hash
    from int_segment_memberships_historized
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
            dbt.cast('event_date', dbt.type_string()),
        ])) }} as segment_membership_event_id,
        customer_id,
        segment_key,
        event_type,
        event_date,
        event_reason,
        rule_hash
    from all_events
)

select * from final
