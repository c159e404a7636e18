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

    Incremental runs recompute, as int_customer_email_campaigns does:
    - whole customers, from all of their addresses' campaigns: both the previous and the
      new customer of every address `int_identifier_customer_changes` recorded as moved
      since this table's last build;
    - for every other customer, only the campaigns with an address-day row loaded after
      the table's load high-water mark, or with an event after the latest one the table
      has seen (one a moved as_of now admits), each from all of the customer's addresses.
    The replace_keys strategy replaces the customers recomputed whole (their key-only
    row) and only the recomputed campaigns of the others, so the result equals a full
    build.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        key_only_when_null='campaign_id',
        replace_single_rows=true,
        on_schema_change='fail',
        post_hook="{{ purge_expired_rows('email', 'last_event_at') }}",
    )
}}
-- depends_on: {{ ref('int_identifier_customer_changes') }}
{%- set machine_open_seconds = var('machine_open_seconds') %}

with

int_email_events_daily as {{ not_materialized() }} (
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

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'occurred_through': 'max(last_event_at)',
        'built_through': 'max(built_at)',
    }) %}

    unapplied_identity_changes as (
        {{ unapplied_identity_changes(['email'], marks.built_through) }}
    ),

    reassigned as (
        {{ reassigned_customers() }}
    ),

    -- The campaigns with a newly loaded or newly admitted address-day, with their customer.
    touched_customer_campaigns as (
        select distinct
            email_customers.customer_id,
            touched_rows.campaign_id
        from (
            {% call union_where_either(
                loaded_since_high_water_mark('max_loaded_at', marks),
                'last_occurred_at > ' ~ marks.occurred_through
            ) -%}
                select
                    email,
                    campaign_id,
                    max_loaded_at,
                    last_occurred_at
                from int_email_events_daily
                where activity_date <= {{ as_of_date() }}
            {%- endcall %}
        ) as touched_rows
        inner join email_customers
            on touched_rows.email = email_customers.email
    ),

    recomputed_emails as (
        select email_customers.*
        from email_customers
        where email_customers.customer_id in (
            select reassigned.customer_id from reassigned
            union
            select touched_customer_campaigns.customer_id from touched_customer_campaigns
        )
    ),

{% else %}

    recomputed_emails as (
        select * from email_customers
    ),

{% endif %}

customer_event_days as (
    select
        recomputed_emails.customer_id,
        int_email_events_daily.campaign_id,
        int_email_events_daily.event_type,
        int_email_events_daily.first_occurred_at,
        int_email_events_daily.last_occurred_at,
        int_email_events_daily.max_loaded_at
    from int_email_events_daily
    inner join recomputed_emails
        on int_email_events_daily.email = recomputed_emails.email
    where int_email_events_daily.activity_date <= {{ as_of_date() }}
    {% if is_incremental() %}
        -- A reassigned customer whole, any other only in its touched campaigns.
        and (
            recomputed_emails.customer_id in (select reassigned.customer_id from reassigned)
            or (recomputed_emails.customer_id, int_email_events_daily.campaign_id) in (
                select
                    touched_customer_campaigns.customer_id,
                    touched_customer_campaigns.campaign_id
                from touched_customer_campaigns
            )
        )
    {% endif %}
),

campaign_milestones as (
    select
        customer_id,
        campaign_id,
        min(first_occurred_at) as first_event_at,
        max(last_occurred_at) as last_event_at,
        max(max_loaded_at) as max_loaded_at,
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

campaigns_final as (
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
        campaign_milestones.first_clicked_at,
        campaign_milestones.last_event_at,
        campaign_milestones.max_loaded_at,
        {{ build_started_at() }} as built_at
    from campaign_milestones
    left join open_kinds
        on campaign_milestones.customer_id = open_kinds.customer_id
            and campaign_milestones.campaign_id = open_kinds.campaign_id
),

{% if is_incremental() %}

    final as (
        select * from campaigns_final

        union all

        select
            customer_id,
            cast(null as {{ dbt.type_string() }}) as campaign_id,
            cast(null as date) as touch_date,
            cast(null as {{ dbt.type_boolean() }}) as is_sent,
            cast(null as {{ dbt.type_boolean() }}) as is_delivered,
            cast(null as {{ dbt.type_boolean() }}) as is_human_opened,
            cast(null as {{ dbt.type_boolean() }}) as is_machine_opened,
            cast(null as {{ dbt.type_boolean() }}) as is_clicked,
            cast(null as {{ dbt.type_boolean() }}) as is_unsubscribed,
            cast(null as {{ dbt.type_timestamp() }}) as first_sent_at,
            cast(null as {{ dbt.type_timestamp() }}) as first_clicked_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_event_at,
            cast(null as {{ dbt.type_timestamp() }}) as max_loaded_at,
            {{ build_started_at() }} as built_at
        from reassigned
    )

{% else %}

    final as (
        select * from campaigns_final
    )

{% endif %}

select * from final
