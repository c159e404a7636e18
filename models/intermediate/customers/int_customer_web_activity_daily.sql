-- One row per customer per day they started at least one web session, with that day's
-- sessions and their events. A session belongs to the shop account that logged in during
-- it, else to the customer its browser (anonymous_id) resolves to.
with

int_web_sessions as (
    select * from {{ ref('int_web_sessions') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

sessions_attributed as (
    select
        coalesce(by_account.customer_id, by_browser.customer_id) as customer_id,
        int_web_sessions.*
    from int_web_sessions
    left join int_identifiers_resolved_to_customers as by_account
        on by_account.identifier_type = 'shop_customer_id'
            and int_web_sessions.user_id = by_account.identifier_value
    left join int_identifiers_resolved_to_customers as by_browser
        on by_browser.identifier_type = 'anonymous_id'
            and int_web_sessions.anonymous_id = by_browser.identifier_value
    where int_web_sessions.started_at < {{ as_of_cutoff() }}
),

final as (
    select
        customer_id,
        session_date as activity_date,
        count(*) as sessions,
        sum(page_views) as page_views,
        sum(product_views) as product_views,
        sum(cart_adds) as cart_adds,
        sum(checkout_starts) as checkout_starts,
        sum(case when is_converted then 1 else 0 end) as converted_sessions,
        min(started_at) as first_session_started_at,
        max(started_at) as last_session_started_at,
        max(last_add_to_cart_at) as last_add_to_cart_at
    from sessions_attributed
    where customer_id is not null
    group by
        customer_id,
        session_date
)

select * from final
