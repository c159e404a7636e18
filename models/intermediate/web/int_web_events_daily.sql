{#-
    One row per web visitor pair (anonymous_id, user_id) per day per event type, product
    and campaign/device attributes, with the events' count and first and last times. It
    holds every loaded event whatever the build's as_of: a reader that evaluates as of a
    date keeps the days at or before it. Identifiers stay as they were collected, so a
    merge or split of customers needs no recompute here; readers map the identifiers to
    customers when they read.

    Incremental runs recompute every visitor-day (anonymous_id, user_id, activity_date)
    that received an event loaded after the table's load high-water mark, however long ago
    it occurred, from all of that visitor-day's events, and delete+insert them by
    visitor_day_key. A visitor-day never loses an event, so replacing the touched ones
    equals a full rebuild.

    A full build aggregates the visitors in var('daily_event_aggregate_buckets') hash
    buckets, one statement each (see hash_bucketed_build): at 1,000,000 customers almost
    every event is a group of its own, and one aggregation of every event does not fit a
    few GB of memory.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='visitor_day_key',
        on_schema_change='fail',
        post_hook=[
            "{{ insert_remaining_hash_buckets(var('daily_event_aggregate_buckets')) }}",
            "{{ purge_expired_rows('web', 'activity_date') }}",
        ],
    )
}}

{%- set visitor_buckets = 1 if is_incremental()
    else hash_bucket_count(var('daily_event_aggregate_buckets')) | int -%}
{%- set visitor_key = "coalesce(anonymous_id, " ~ dbt.concat(["'user:'", "user_id"]) ~ ")" %}

with

stg_web__events as (
    select * from {{ ref('stg_web__events') }}
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({'loaded_through': 'max(max_loaded_at)'}) %}

    events_to_aggregate as (
        {{ events_of_touched_days(ref('stg_web__events'), ['anonymous_id', 'user_id'], marks) }}
    ),

{% else %}

    events_to_aggregate as (
        select * from stg_web__events
        {%- if visitor_buckets > 1 %}
            where {{ first_hash_bucket_only(visitor_key, visitor_buckets) }}
        {%- endif %}
    ),

{% endif %}

days_aggregated as (
    select
        anonymous_id,
        user_id,
        cast(occurred_at as date) as activity_date,
        event_type,
        product_id,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        cast(count(*) as {{ dbt.type_bigint() }}) as event_count,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        max(loaded_at) as max_loaded_at
    from events_to_aggregate
    group by
        anonymous_id,
        user_id,
        cast(occurred_at as date),
        event_type,
        product_id,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type
),

final as (
    select
        -- ids
        {{ identifier_day_key(['anonymous_id', 'user_id']) }} as visitor_day_key,
        anonymous_id,
        user_id,
        product_id,

        -- strings
        event_type,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,

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
