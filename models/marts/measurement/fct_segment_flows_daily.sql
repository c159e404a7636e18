{#-
    One row per segment per day per flow (entered / exited) per reason with at least one
    customer, from the member spells of the membership history: entries on the day a
    spell opened (its entry_reason; history_started on the history's first day), exits
    on the day it closed (its exit_reason). Sums to entered_count and exited_count of
    fct_segment_kpis_daily.
-#}

with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

member_spells as (
    select * from int_segment_memberships_historized
    where membership_state = 'member'
),

flow_events as (
    select
        segment_key,
        valid_from_date as flow_date,
        'entered' as flow,
        entry_reason as event_reason
    from member_spells

    union all

    select
        segment_key,
        valid_to_date as flow_date,
        'exited' as flow,
        exit_reason as event_reason
    from member_spells
    where valid_to_date is not null
),

final as (
    select
        segment_key,
        flow_date as kpi_date,
        flow,
        event_reason,
        {{ kpi_count('count(*)') }} as customer_count,
        {{ as_of_date() }} as as_of_date
    from flow_events
    where flow_date <= {{ as_of_date() }}
    group by
        segment_key,
        flow_date,
        flow,
        event_reason
)

select * from final
