{#-
    One row per customer per email campaign they received events for, at or before as_of:
    the day the campaign reached them (its touch day: first send, else first delivery,
    else first event), whether it was sent, delivered, opened by a person, opened by a
    machine, clicked and unsubscribed from, and the first send and click times that
    conversions are attributed to.
    - A machine open is an open at most var('machine_open_seconds') after the first
      delivery (or the first send when no delivery was recorded); a human open is any
      later open, or a click (a click proves a person saw the email). Without a send or
      delivery to measure from, an open counts as human.
    - Delivered means a delivery event, or an open or click (which prove it arrived).
    So clicks <= human opens <= deliveries, and the KPI rates stay within 0 and 1.
    The daily event rows hold each day's first and last open, which decides both flags
    exactly: a day's opens include a machine open when its first is within the threshold,
    a human open when its last is after it.
    A customer with several addresses counts once per campaign, from all of them.
-#}
{%- set machine_open_seconds = var('machine_open_seconds') %}

with

int_email_events_daily as (
    select * from {{ ref('int_email_events_daily') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

email_customers as (
    select
        identifier_value as email,
        customer_id
    from int_identifiers_resolved_to_customers
    where identifier_type = 'email'
),

customer_event_days as (
    select
        email_customers.customer_id,
        int_email_events_daily.campaign_id,
        int_email_events_daily.event_type,
        int_email_events_daily.first_occurred_at,
        int_email_events_daily.last_occurred_at
    from int_email_events_daily
    inner join email_customers
        on int_email_events_daily.email = email_customers.email
    where int_email_events_daily.activity_date <= {{ as_of_date() }}
),

campaign_milestones as (
    select
        customer_id,
        campaign_id,
        min(first_occurred_at) as first_event_at,
        min(case when event_type = 'send' then first_occurred_at end) as first_sent_at,
        min(case when event_type = 'delivery' then first_occurred_at end) as first_delivered_at,
        min(case when event_type = 'click' then first_occurred_at end) as first_clicked_at,
        max(case when event_type = 'open' then 1 else 0 end) as has_open,
        max(case when event_type = 'unsubscribe' then 1 else 0 end) as has_unsubscribe
    from customer_event_days
    group by
        customer_id,
        campaign_id
),

machine_open_cutoffs as (
    select
        customer_id,
        campaign_id,
        {{ dbt.dateadd('second', machine_open_seconds, 'coalesce(first_delivered_at, first_sent_at)') }}
            as machine_open_until
    from campaign_milestones
    where has_open = 1
),

open_kinds as (
    select
        customer_event_days.customer_id,
        customer_event_days.campaign_id,
        max(
            case
                when machine_open_cutoffs.machine_open_until is null
                    or customer_event_days.last_occurred_at > machine_open_cutoffs.machine_open_until then 1
                else 0
            end
        ) as has_human_open,
        max(
            case when customer_event_days.first_occurred_at <= machine_open_cutoffs.machine_open_until then 1 else 0 end
        ) as has_machine_open
    from customer_event_days
    inner join machine_open_cutoffs
        on customer_event_days.customer_id = machine_open_cutoffs.customer_id
            and customer_event_days.campaign_id = machine_open_cutoffs.campaign_id
    where customer_event_days.event_type = 'open'
    group by
        customer_event_days.customer_id,
        customer_event_days.campaign_id
),

final as (
    select
        campaign_milestones.customer_id,
        campaign_milestones.campaign_id,
        cast(
            coalesce(
                campaign_milestones.first_sent_at,
                campaign_milestones.first_delivered_at,
                campaign_milestones.first_event_at
            )
            as date
        ) as touch_date,
        campaign_milestones.first_sent_at is not null as is_sent,
        campaign_milestones.first_delivered_at is not null
        or campaign_milestones.has_open = 1
        or campaign_milestones.first_clicked_at is not null as is_delivered,
        coalesce(open_kinds.has_human_open, 0) = 1
        or campaign_milestones.first_clicked_at is not null as is_human_opened,
        coalesce(open_kinds.has_machine_open, 0) = 1 as is_machine_opened,
        campaign_milestones.first_clicked_at is not null as is_clicked,
        campaign_milestones.has_unsubscribe = 1 as is_unsubscribed,
        campaign_milestones.first_sent_at,
        campaign_milestones.first_clicked_at
    from campaign_milestones
    left join open_kinds
        on campaign_milestones.customer_id = open_kinds.customer_id
            and campaign_milestones.campaign_id = open_kinds.campaign_id
)

select * from final
