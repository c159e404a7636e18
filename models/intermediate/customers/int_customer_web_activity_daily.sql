{#-
    One row per customer per day they started at least one web session, with that day's
    sessions and their events. A session belongs to the shop account that logged in during
    it, else to the customer its browser (anonymous_id) resolves to.

    Incremental runs recompute whole customers, from all of their sessions:
    - the customers of every identifier seen in the events of a visitor with a session
      rewritten since this table's last build: one holding an event loaded after the
      table's load high-water mark, one rewritten after an order load the table has not
      seen, or one that ended within the inactivity gap before the latest session start
      the table holds (the only sessions a moved as_of can extend or convert). Accounts
      come from the browser's logins (`int_identity_event_observations`), not only its
      sessions, because a late event can merge two sessions and take one account's
      session away from it;
    - both customers of every browser or account that `int_identifier_customer_changes`
      recorded as moved since the table's last build, and the customers of the other
      identifier of each session that used one of them (a session's account or browser
      decides its customer).
    The batch holds one key-only row per recomputed customer besides its days, so the
    replace_keys strategy also clears a customer left with no sessions.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        key_only_when_null='activity_date',
        on_schema_change='fail',
        post_hook="{{ purge_expired_rows('web', 'activity_date') }}",
    )
}}

{%- set gap_minutes = var('session_inactivity_minutes') | int %}
-- depends_on: {{ ref('int_identifier_customer_changes') }}
-- depends_on: {{ ref('int_identity_event_observations') }}

with

-- read in several places below: inlined, not materialised whole
int_web_sessions as {{ not_materialized() }} (
    select * from {{ ref('int_web_sessions') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

web_identifiers as (
    select
        identifier_type,
        identifier_value,
        customer_id
    from int_identifiers_resolved_to_customers
    where identifier_type in ('shop_customer_id', 'anonymous_id')
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'orders_loaded_through': 'max(orders_max_loaded_at)',
        'occurred_through': 'max(last_session_started_at)',
        'built_through': 'max(built_at)',
    }) %}

    rewritten_sessions as (
        select
            int_web_sessions.visitor_key,
            int_web_sessions.anonymous_id,
            int_web_sessions.user_id
        from int_web_sessions
        where int_web_sessions.max_loaded_at > {{ marks.loaded_through }}
            or int_web_sessions.orders_max_loaded_at > {{ marks.orders_loaded_through }}
            or int_web_sessions.ended_at > {{ dbt.dateadd('minute', -1 * gap_minutes, marks.occurred_through) }}
    ),

    rewritten_browsers as (
        select distinct anonymous_id
        from rewritten_sessions
        where anonymous_id is not null
    ),

    unapplied_identity_changes as (
        {{ unapplied_identity_changes(['shop_customer_id', 'anonymous_id'], marks.built_through) }}
    ),

    touched_identifiers as (
        select
            'anonymous_id' as identifier_type,
            anonymous_id as identifier_value
        from rewritten_sessions
        where anonymous_id is not null

        union

        select
            'shop_customer_id' as identifier_type,
            user_id as identifier_value
        from rewritten_sessions
        where user_id is not null

        union

        -- every account that logged in on a rewritten browser, also one whose session
        -- a late event merged into another
        select
            login_observations.identifier_type,
            login_observations.identifier_value
        from {{ ref('int_identity_event_observations') }} as login_observations
        inner join rewritten_browsers
            on login_observations.linked_identifier_value = rewritten_browsers.anonymous_id
        where login_observations.evidence_source = 'web_login'

        union

        select
            'anonymous_id' as identifier_type,
            int_web_sessions.anonymous_id as identifier_value
        from int_web_sessions
        inner join unapplied_identity_changes
            on unapplied_identity_changes.identifier_type = 'shop_customer_id'
                and int_web_sessions.user_id = unapplied_identity_changes.identifier_value
        where int_web_sessions.anonymous_id is not null

        union

        select
            'shop_customer_id' as identifier_type,
            int_web_sessions.user_id as identifier_value
        from int_web_sessions
        inner join unapplied_identity_changes
            on unapplied_identity_changes.identifier_type = 'anonymous_id'
                and int_web_sessions.anonymous_id = unapplied_identity_changes.identifier_value
        where int_web_sessions.user_id is not null
    ),

    touched_customers as (
        select web_identifiers.customer_id
        from touched_identifiers
        inner join web_identifiers
            on touched_identifiers.identifier_type = web_identifiers.identifier_type
                and touched_identifiers.identifier_value = web_identifiers.identifier_value

        union

        {{ reassigned_customers() }}
    ),

    recomputed_identifiers as (
        select web_identifiers.*
        from web_identifiers
        where web_identifiers.customer_id in (select touched_customers.customer_id from touched_customers)
    ),

    -- every session of a recomputed customer uses one of its identifiers
    sessions_to_attribute as (
        select int_web_sessions.*
        from int_web_sessions
        where int_web_sessions.user_id in (
            select recomputed_identifiers.identifier_value
            from recomputed_identifiers
            where recomputed_identifiers.identifier_type = 'shop_customer_id'
        )
            or int_web_sessions.anonymous_id in (
                select recomputed_identifiers.identifier_value
                from recomputed_identifiers
                where recomputed_identifiers.identifier_type = 'anonymous_id'
            )
    ),

{% else %}

    sessions_to_attribute as (
        select * from int_web_sessions
    ),

{% endif %}

sessions_attributed as (
    select
        coalesce(by_account.customer_id, by_browser.customer_id) as customer_id,
        sessions_to_attribute.*
    from sessions_to_attribute
    left join web_identifiers as by_account
        on by_account.identifier_type = 'shop_customer_id'
            and sessions_to_attribute.user_id = by_account.identifier_value
    left join web_identifiers as by_browser
        on by_browser.identifier_type = 'anonymous_id'
            and sessions_to_attribute.anonymous_id = by_browser.identifier_value
    where sessions_to_attribute.started_at < {{ as_of_cutoff() }}
),

{% if is_incremental() %}

    sessions_of_recomputed_customers as (
        select sessions_attributed.*
        from sessions_attributed
        where sessions_attributed.customer_id in (select touched_customers.customer_id from touched_customers)
    ),

{% else %}

    sessions_of_recomputed_customers as (
        select * from sessions_attributed
        where customer_id is not null
    ),

{% endif %}

days_aggregated as (
    select
        customer_id,
        session_date as activity_date,
        count(*) as sessions,
        cast(sum(page_views) as {{ dbt.type_bigint() }}) as page_views,
        cast(sum(product_views) as {{ dbt.type_bigint() }}) as product_views,
        cast(sum(cart_adds) as {{ dbt.type_bigint() }}) as cart_adds,
        cast(sum(checkout_starts) as {{ dbt.type_bigint() }}) as checkout_starts,
        count(case when is_converted then 1 end) as converted_sessions,
        min(started_at) as first_session_started_at,
        max(started_at) as last_session_started_at,
        max(last_add_to_cart_at) as last_add_to_cart_at,
        max(max_loaded_at) as max_loaded_at,
        max(orders_max_loaded_at) as orders_max_loaded_at,
        {{ build_started_at() }} as built_at
    from sessions_of_recomputed_customers
    group by
        customer_id,
        session_date
),

{% if is_incremental() %}

    final as (
        select * from days_aggregated

        union all

        select
            customer_id,
            cast(null as date) as activity_date,
            cast(null as {{ dbt.type_bigint() }}) as sessions,
            cast(null as {{ dbt.type_bigint() }}) as page_views,
            cast(null as {{ dbt.type_bigint() }}) as product_views,
            cast(null as {{ dbt.type_bigint() }}) as cart_adds,
            cast(null as {{ dbt.type_bigint() }}) as checkout_starts,
            cast(null as {{ dbt.type_bigint() }}) as converted_sessions,
            cast(null as {{ dbt.type_timestamp() }}) as first_session_started_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_session_started_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_add_to_cart_at,
            cast(null as {{ dbt.type_timestamp() }}) as max_loaded_at,
            cast(null as {{ dbt.type_timestamp() }}) as orders_max_loaded_at,
            {{ build_started_at() }} as built_at
        from touched_customers
    )

{% else %}

    final as (
        select * from days_aggregated
    )

{% endif %}

select * from final
