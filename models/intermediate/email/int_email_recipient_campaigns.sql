{#-
    One row per recipient email per campaign: when the campaign was first sent to them,
    first and last opened and clicked. First-event timestamps stay exact for any earlier
    as_of (an open before the cutoff exists exactly when the first open is before it).

    Incremental runs recompute every (email, campaign) pair that received a row loaded
    after the load high-water mark, or an event within var('incremental_lookback_days')
    of event time before the newest one processed, from all of that pair's events, and
    delete+insert them by email_campaign_id. Pairs are matched on (email, campaign_id) and
    the id is hashed once per pair, after aggregation.

    A full build aggregates the recipients in var('email_recipient_campaign_buckets') hash
    buckets of the address, one statement each (see hash_bucketed_build): at 1,000,000
    customers the pairs' aggregation state of a year of events is larger than a 3 GB
    memory limit and spills, where half of it does not.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='email_campaign_id',
        on_schema_change='fail',
        post_hook=[
            "{{ insert_remaining_hash_buckets(var('email_recipient_campaign_buckets')) }}",
            "{{ purge_expired_rows('email', 'last_event_at') }}",
        ],
    )
}}

{%- set recipient_buckets = 1 if is_incremental()
    else hash_bucket_count(var('email_recipient_campaign_buckets')) | int -%}


with

stg_email__events as (
    select * from {{ ref('stg_email__events') }}
),

events_before_cutoff as (
    select
        email,
        campaign_id,
        event_type,
        occurred_at,
        loaded_at
    from stg_email__events
    where occurred_at < {{ as_of_cutoff() }}
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'occurred_through': 'max(last_event_at)',
    }) %}

    -- Read straight from the staged events: DuckDB materialises a CTE that is read
    -- twice, and events_before_cutoff would be every event.
    dirty_pairs as (
        select distinct
            staged_events.email,
            staged_events.campaign_id
        from {{ ref('stg_email__events') }} as staged_events
        where staged_events.occurred_at < {{ as_of_cutoff() }}
            and {{ touched_since_high_water_mark('staged_events.loaded_at', 'staged_events.occurred_at', marks) }}
    ),

    events_to_aggregate as (
        select events_before_cutoff.*
        from events_before_cutoff
        inner join dirty_pairs
            on events_before_cutoff.email = dirty_pairs.email
            and events_before_cutoff.campaign_id = dirty_pairs.campaign_id
    ),

{% else %}

    events_to_aggregate as (
        select * from events_before_cutoff
        {%- if recipient_buckets > 1 %}
            where {{ first_hash_bucket_only('email', recipient_buckets) }}
        {%- endif %}
    ),

{% endif %}

pairs_aggregated as (
    select
        email,
        campaign_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        min(case when event_type = 'send' then occurred_at end) as first_sent_at,
        min(case when event_type = 'open' then occurred_at end) as first_opened_at,
        max(case when event_type = 'open' then occurred_at end) as last_opened_at,
        min(case when event_type = 'click' then occurred_at end) as first_clicked_at,
        max(case when event_type = 'click' then occurred_at end) as last_clicked_at,
        count(case when event_type = 'open' then 1 end) as opens,
        count(case when event_type = 'click' then 1 end) as clicks,
        max(loaded_at) as max_loaded_at
    from events_to_aggregate
    group by
        email,
        campaign_id
),

final as (
    select
        {{ dbt.hash(dbt.concat(["email", "'|'", "campaign_id"])) }} as email_campaign_id,
        email,
        campaign_id,
        first_event_at,
        last_event_at,
        first_sent_at,
        first_opened_at,
        last_opened_at,
        first_clicked_at,
        last_clicked_at,
        opens,
        clicks,
        max_loaded_at,
        {{ build_started_at() }} as built_at
    from pairs_aggregated
)

select * from final
