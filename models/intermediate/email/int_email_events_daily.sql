{#-
    One row per recipient email address per day per event type (send, delivery, open,
    click, bounce, unsubscribe, spam_complaint), campaign and bounce type, with the
    events' count and first and last times. It holds every loaded event whatever the
    build's as_of: a reader that evaluates as of a date keeps the days at or before it.
    The address stays as collected, so a merge or split of customers needs no recompute
    here; readers map the address to its customer when they read.

    Incremental runs recompute every address-day (email, activity_date) that received an
    event loaded after the table's load high-water mark, however long ago it occurred,
    from all of that address-day's events, and delete+insert them by email_day_key. An
    address-day never loses an event, so replacing the touched ones equals a full rebuild.

    A full build aggregates the addresses in var('daily_event_aggregate_buckets') hash
    buckets, one statement each (see hash_bucketed_build): nearly every event is a group
    of its own, and at 1,000,000 customers one aggregation of every event is several
    times larger than a 3 GB memory limit.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='email_day_key',
        on_schema_change='fail',
        post_hook=[
            "{{ insert_remaining_hash_buckets(var('daily_event_aggregate_buckets')) }}",
            "{{ purge_expired_rows('email', 'activity_date') }}",
        ],
    )
}}

{%- set address_buckets = 1 if is_incremental()
    else hash_bucket_count(var('daily_event_aggregate_buckets')) | int -%}

with

stg_email__events as (
    select * from {{ ref('stg_email__events') }}
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({'loaded_through': 'max(max_loaded_at)'}) %}

    events_to_aggregate as (
        {{ events_of_touched_days(ref('stg_email__events'), ['email'], marks) }}
    ),

{% else %}

    events_to_aggregate as (
        select * from stg_email__events
        where email is not null
        {%- if address_buckets > 1 %}
            and {{ first_hash_bucket_only('email', address_buckets) }}
        {%- endif %}
    ),

{% endif %}

days_aggregated as (
    select
        email,
        cast(occurred_at as date) as activity_date,
        event_type,
        campaign_id,
        bounce_type,
        cast(count(*) as {{ dbt.type_bigint() }}) as event_count,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        max(loaded_at) as max_loaded_at
    from events_to_aggregate
    group by
        email,
        cast(occurred_at as date),
        event_type,
        campaign_id,
        bounce_type
),

final as (
    select
        -- ids
        {{ identifier_day_key(['email']) }} as email_day_key,
        campaign_id,

        -- strings
        email,
        event_type,
        bounce_type,

        -- numerics
        event_count,

        -- dates and timestamps
        activity_date,
        first_occurred_at,
        last_occurred_at,

        -- lineage
        max_loaded_at,
        {{ build_started_at() }} as built_at
    from days_aggregated
)

select * from final
