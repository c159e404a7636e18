{#-
    One row per web session: a visitor's run of events with no gap longer than
    var('session_inactivity_minutes'). The visitor is the browser (anonymous_id), or the
    shop account (user_id) for events without one, so logging in mid-session keeps the
    session whole.

    Incremental runs rebuild only the visitors touched by rows loaded after the table's
    load high-water mark (events and orders each have their own: orders are loaded from
    other files, often after the events), or by events within
    var('incremental_lookback_days') of event time before the newest one processed, and
    for each of them only from their restart point: the earliest existing session that a
    new event or order could reach (ended within the inactivity gap before it). The replace_from_earliest strategy
    then deletes each touched visitor's sessions from the first recomputed one on and
    inserts the recomputed ones; sessions before the restart point stay as they are.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from_earliest',
        unique_key='visitor_key',
        replace_from='started_at',
        on_schema_change='fail',
        post_hook=[
            "{{ insert_remaining_hash_buckets(var('web_session_visitor_buckets')) }}",
            "{{ purge_expired_rows('web', 'started_at') }}",
        ],
    )
}}

{%- set gap_minutes = var('session_inactivity_minutes') | int -%}
{#- A full build sessionizes the visitors in hash buckets, one statement each (see
    hash_bucketed_build): a window over every event of the history at once does not fit a
    few GB of memory at 1,000,000 customers. This query keeps the first bucket and the
    post-hook appends the others. An incremental run holds only the touched visitors, so
    one pass. -#}
{%- set visitor_buckets = 1 if is_incremental() else hash_bucket_count(var('web_session_visitor_buckets')) | int -%}

with

stg_web__events as (
    select * from {{ ref('stg_web__events') }}
),

stg_shop__orders as (
    select * from {{ ref('stg_shop__orders') }}
),

events_before_cutoff as (
    select
        event_id,
        coalesce(anonymous_id, {{ dbt.concat(["'user:'", "user_id"]) }}) as visitor_key,
        anonymous_id,
        user_id,
        event_type,
        page_url,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        occurred_at,
        loaded_at
    from stg_web__events
    where occurred_at < {{ as_of_cutoff() }}
),

placed_orders as (
    select distinct
        order_id,
        shop_customer_id,
        ordered_at,
        loaded_at
    from stg_shop__orders
    where shop_customer_id is not null
        and order_total_usd >= 0
        and ordered_at < {{ as_of_cutoff() }}
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'orders_loaded_through': 'max(orders_max_loaded_at)',
        'occurred_through': 'max(ended_at)',
    }) %}

    -- Only the visitor and time of the new events, read straight from the staged events:
    -- DuckDB materialises a CTE that is read twice, and events_before_cutoff would be
    -- every column of every event.
    new_events as (
        {% call union_where_either(
            loaded_since_high_water_mark('loaded_at', marks),
            within_lookback_of_high_water_mark('occurred_at', marks)
        ) -%}
            select
                coalesce(staged_events.anonymous_id, {{ dbt.concat(["'user:'", "staged_events.user_id"]) }}) as visitor_key,
                staged_events.occurred_at,
                staged_events.loaded_at
            from {{ ref('stg_web__events') }} as staged_events
            where staged_events.occurred_at < {{ as_of_cutoff() }}
        {%- endcall %}
    ),

    new_orders as (
        select placed_orders.*
        from placed_orders
        where {{ touched_since_high_water_mark(
            'placed_orders.loaded_at', 'placed_orders.ordered_at', marks, 'orders_loaded_through'
        ) }}
    ),

    dirty_points as (
        select
            visitor_key,
            occurred_at as dirty_from
        from new_events

        union all

        select
            existing_sessions.visitor_key,
            new_orders.ordered_at as dirty_from
        from new_orders
        inner join {{ this }} as existing_sessions
            on new_orders.shop_customer_id = existing_sessions.user_id
    ),

    dirty_visitors as (
        select
            visitor_key,
            min(dirty_from) as dirty_from
        from dirty_points
        group by visitor_key
    ),

    restart_points as (
        select
            dirty_visitors.visitor_key,
            least(
                dirty_visitors.dirty_from,
                coalesce(min(existing_sessions.started_at), dirty_visitors.dirty_from)
            ) as restart_at
        from dirty_visitors
        left join {{ this }} as existing_sessions
            on dirty_visitors.visitor_key = existing_sessions.visitor_key
            and existing_sessions.ended_at >= {{ dbt.dateadd('minute', -1 * gap_minutes, 'dirty_visitors.dirty_from') }}
        group by
            dirty_visitors.visitor_key,
            dirty_visitors.dirty_from
    ),

    -- The filter on the earliest restart point repeats what the join implies, as a
    -- one-column bound the engine applies at the scan: only the recent events are read in
    -- full instead of every column of the history.
    events_to_sessionize as (
        select events_before_cutoff.*
        from events_before_cutoff
        inner join restart_points
            on events_before_cutoff.visitor_key = restart_points.visitor_key
            and events_before_cutoff.occurred_at >= restart_points.restart_at
        where events_before_cutoff.occurred_at >= (select min(restart_points.restart_at) from restart_points)
    ),

{% else %}

    events_to_sessionize as (
        select * from events_before_cutoff
        {%- if visitor_buckets > 1 %}
            where {{ first_hash_bucket_only('visitor_key', visitor_buckets) }}
        {%- endif %}
    ),

{% endif %}

-- One pass over the events: gaps, then session numbers, then one row per session whose
-- landing attributes are those of the event that started it (exactly one per session) and
-- whose account is the first one that logged in.
events_with_gaps as (
    select
        *,
        lag(occurred_at) over (
            partition by visitor_key
            order by occurred_at, event_id
        ) as previous_occurred_at,
        row_number() over (
            partition by visitor_key
            order by occurred_at, event_id
        ) as visitor_event_number
    from events_to_sessionize
),

session_starts_flagged as (
    select
        *,
        case
            when previous_occurred_at is null then 1
            when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'second') }} > {{ gap_minutes * 60 }} then 1  -- noqa: LT05
            else 0
        end as is_session_start
    from events_with_gaps
),

session_numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by visitor_key
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts_flagged
),

sessions_joined as (
    select
        visitor_key,
        session_number,
        max(case when is_session_start = 1 then anonymous_id end) as anonymous_id,
        {{ first_non_null_by('user_id', 'visitor_event_number') }} as user_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        max(case when is_session_start = 1 then page_url end) as landing_page_url,
        max(case when is_session_start = 1 then utm_source end) as utm_source,
        max(case when is_session_start = 1 then utm_medium end) as utm_medium,
        max(case when is_session_start = 1 then utm_campaign end) as utm_campaign,
        max(case when is_session_start = 1 then device_type end) as device_type,
        count(*) as events,
        count(case when event_type = 'page_view' then 1 end) as page_views,
        count(case when event_type = 'product_view' then 1 end) as product_views,
        count(case when event_type = 'add_to_cart' then 1 end) as cart_adds,
        count(case when event_type = 'checkout_start' then 1 end) as checkout_starts,
        max(case when event_type = 'add_to_cart' then occurred_at end) as last_add_to_cart_at,
        max(loaded_at) as max_loaded_at
    from session_numbered
    group by
        visitor_key,
        session_number
),

recomputed_sessions as (
    select
        {{ dbt.hash(dbt.concat([
            "sessions_joined.visitor_key",
            "'|'",
            "cast(sessions_joined.started_at as " ~ dbt.type_string() ~ ")",
        ])) }} as session_id,
        sessions_joined.visitor_key,
        sessions_joined.anonymous_id,
        sessions_joined.user_id,
        sessions_joined.started_at,
        sessions_joined.ended_at,
        cast(sessions_joined.started_at as date) as session_date,
        {{ dbt.datediff('sessions_joined.started_at', 'sessions_joined.ended_at', 'second') }} as duration_seconds,  -- noqa: LT05
        sessions_joined.landing_page_url,
        sessions_joined.utm_source,
        sessions_joined.utm_medium,
        sessions_joined.utm_campaign,
        sessions_joined.device_type,
        sessions_joined.events,
        sessions_joined.page_views,
        sessions_joined.product_views,
        sessions_joined.cart_adds,
        sessions_joined.checkout_starts,
        -- A correlated exists keeps sessions_joined read once (a CTE read twice is
        -- materialised whole); engines turn it into a semi join on the account.
        exists(
            select 1
            from placed_orders
            where placed_orders.shop_customer_id = sessions_joined.user_id
                and placed_orders.ordered_at >= sessions_joined.started_at
                and placed_orders.ordered_at <= {{ dbt.dateadd('minute', gap_minutes, 'sessions_joined.ended_at') }}
        ) as is_converted,
        sessions_joined.last_add_to_cart_at,
        sessions_joined.max_loaded_at,
        (select max(placed_orders.loaded_at) from placed_orders) as orders_max_loaded_at,
        {{ build_started_at() }} as built_at
    from sessions_joined
),

final as (
    select * from recomputed_sessions
)

select * from final
