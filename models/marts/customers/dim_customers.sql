-- One row per customer (a person stitched across CRM, shop, web and email) as of the
-- as_of date, excluding erased customers and test accounts. Every feature reads only data
-- at or before the end of the as_of day; an N-day window is the N days ending on as_of
-- (as_of and the N-1 days before it).
{% set as_of = as_of_date() %}

with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

int_customers_erased as (
    select * from {{ ref('int_customers_erased') }}
),

stg_crm__contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

stg_crm__consent_events as (
    select * from {{ ref('stg_crm__consent_events') }}
),

int_customer_order_summary as (
    select * from {{ ref('int_customer_order_summary') }}
),

int_customer_web_summary as (
    select * from {{ ref('int_customer_web_summary') }}
),

int_customer_email_summary as (
    select * from {{ ref('int_customer_email_summary') }}
),

-- customers and their identifiers

erased_customers as (
    select distinct customer_id
    from int_customers_erased
    where requested_at < {{ as_of_cutoff() }}
),

customer_identifiers as (
    select *
    from int_identifiers_resolved_to_customers
    where first_seen_at is null or first_seen_at < {{ as_of_cutoff() }}
),

first_seen as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at
    from customer_identifiers
    group by customer_id
),

shop_accounts_ranked as (
    select
        customer_id,
        identifier_value as shop_customer_id,
        row_number() over (
            partition by customer_id
            order by first_seen_at, identifier_value
        ) as account_rank
    from customer_identifiers
    where identifier_type = 'shop_customer_id'
),

emails_ranked as (
    select
        customer_id,
        identifier_value as email,
        row_number() over (
            partition by customer_id
            order by first_seen_at, identifier_value
        ) as email_rank
    from customer_identifiers
    where identifier_type = 'email'
),

-- CRM: the latest version at or before as_of of each contact; the primary contact is the
-- one changed most recently

contact_versions_ranked as (
    select
        stg_crm__contacts.*,
        row_number() over (
            partition by stg_crm__contacts.contact_id
            order by stg_crm__contacts.updated_at desc, stg_crm__contacts.loaded_at desc
        ) as version_recency
    from stg_crm__contacts
    where stg_crm__contacts.updated_at < {{ as_of_cutoff() }}
),

contacts_as_of as (
    select
        customer_identifiers.customer_id,
        contact_versions_ranked.*,
        row_number() over (
            partition by customer_identifiers.customer_id
            order by contact_versions_ranked.updated_at desc, contact_versions_ranked.contact_id asc
        ) as contact_rank
    from contact_versions_ranked
    inner join customer_identifiers
        on customer_identifiers.identifier_type = 'contact_id'
            and contact_versions_ranked.contact_id = customer_identifiers.identifier_value
    where contact_versions_ranked.version_recency = 1
),

test_customers as (
    select distinct customer_id
    from contacts_as_of
    where is_test_account
),

customer_signups as (
    select
        customer_id,
        min(signed_up_at) as crm_signed_up_at
    from contacts_as_of
    group by customer_id
),

primary_contacts as (
    select * from contacts_as_of
    where contact_rank = 1
),

customers as (
    select distinct customer_identifiers.customer_id
    from customer_identifiers
    left join erased_customers
        on customer_identifiers.customer_id = erased_customers.customer_id
    left join test_customers
        on customer_identifiers.customer_id = test_customers.customer_id
    where erased_customers.customer_id is null
        and test_customers.customer_id is null
),

-- consent: the latest event per contact channel at or before as_of, then the latest of
-- those across the customer's contacts

consent_ranked as (
    select
        customer_identifiers.customer_id,
        stg_crm__consent_events.channel,
        stg_crm__consent_events.is_granted,
        row_number() over (
            partition by customer_identifiers.customer_id, stg_crm__consent_events.channel
            order by stg_crm__consent_events.occurred_at desc, stg_crm__consent_events.consent_event_id desc
        ) as consent_recency
    from stg_crm__consent_events
    inner join customer_identifiers
        on customer_identifiers.identifier_type = 'contact_id'
            and stg_crm__consent_events.contact_id = customer_identifiers.identifier_value
    where stg_crm__consent_events.occurred_at < {{ as_of_cutoff() }}
),

consent_current as (
    select
        customer_id,
        max(case when channel = 'email' and is_granted then 1 else 0 end) = 1 as has_email_consent,
        max(case when channel = 'sms' and is_granted then 1 else 0 end) = 1 as has_sms_consent,
        max(case when channel = 'ads' and is_granted then 1 else 0 end) = 1 as has_ads_consent
    from consent_ranked
    where consent_recency = 1
    group by customer_id
),

-- sign-up: the earliest of CRM sign-up, first counted order and first visit; a customer
-- with none of them (known only from email) falls back to when they were first seen

signup_fallbacks as (
    select
        customers.customer_id,
        coalesce(
            customer_signups.crm_signed_up_at,
            int_customer_order_summary.first_order_at,
            int_customer_web_summary.first_visit_at,
            first_seen.first_seen_at
        ) as fallback_at
    from customers
    left join customer_signups
        on customers.customer_id = customer_signups.customer_id
    left join int_customer_order_summary
        on customers.customer_id = int_customer_order_summary.customer_id
    left join int_customer_web_summary
        on customers.customer_id = int_customer_web_summary.customer_id
    left join first_seen
        on customers.customer_id = first_seen.customer_id
),

-- assemble with fallbacks

joined as (
    select
        customers.customer_id,
        primary_contacts.contact_id,
        shop_accounts_ranked.shop_customer_id,
        coalesce(primary_contacts.email, emails_ranked.email) as email,
        primary_contacts.first_name as crm_first_name,
        primary_contacts.country_code as crm_country_code,
        primary_contacts.birth_date,
        primary_contacts.lifecycle_stage as crm_lifecycle_stage,
        least(
            coalesce(customer_signups.crm_signed_up_at, signup_fallbacks.fallback_at),
            coalesce(int_customer_order_summary.first_order_at, signup_fallbacks.fallback_at),
            coalesce(int_customer_web_summary.first_visit_at, signup_fallbacks.fallback_at)
        ) as earliest_seen_at,
        int_customer_order_summary.first_order_at,
        int_customer_order_summary.last_order_at,
        int_customer_order_summary.last_placed_order_at,
        int_customer_web_summary.first_visit_at,
        int_customer_web_summary.last_visit_at,
        int_customer_web_summary.last_add_to_cart_at,
        int_customer_email_summary.last_opened_at as last_email_opened_at,
        coalesce(int_customer_order_summary.orders_lifetime, 0) as orders_lifetime,
        coalesce(int_customer_order_summary.orders_last_30_days, 0) as orders_last_30_days,
        coalesce(int_customer_order_summary.orders_last_90_days, 0) as orders_last_90_days,
        coalesce(int_customer_order_summary.orders_last_365_days, 0) as orders_last_365_days,
        coalesce(int_customer_order_summary.lifetime_revenue_usd, 0) as lifetime_revenue_usd,
        coalesce(int_customer_email_summary.campaigns_sent_last_30_days, 0) as emails_sent_last_30_days,
        coalesce(int_customer_email_summary.campaigns_sent_last_90_days, 0) as emails_sent_last_90_days,
        coalesce(int_customer_email_summary.campaigns_opened_last_30_days, 0) as emails_opened_last_30_days,
        coalesce(int_customer_email_summary.campaigns_opened_last_90_days, 0) as emails_opened_last_90_days,
        coalesce(int_customer_email_summary.campaigns_clicked_last_30_days, 0) as emails_clicked_last_30_days,
        coalesce(int_customer_email_summary.campaigns_clicked_last_90_days, 0) as emails_clicked_last_90_days,
        coalesce(int_customer_email_summary.opened_last_3_campaigns, false) as opened_last_3_campaigns,
        coalesce(int_customer_web_summary.sessions_last_7_days, 0) as sessions_last_7_days,
        coalesce(int_customer_web_summary.sessions_last_30_days, 0) as sessions_last_30_days,
        coalesce(int_customer_web_summary.page_views_last_7_days, 0) as page_views_last_7_days,
        coalesce(int_customer_web_summary.page_views_last_30_days, 0) as page_views_last_30_days,
        coalesce(consent_current.has_email_consent, false) as has_email_consent,
        coalesce(consent_current.has_sms_consent, false) as has_sms_consent,
        coalesce(consent_current.has_ads_consent, false) as has_ads_consent
    from customers
    left join primary_contacts
        on customers.customer_id = primary_contacts.customer_id
    left join customer_signups
        on customers.customer_id = customer_signups.customer_id
    left join signup_fallbacks
        on customers.customer_id = signup_fallbacks.customer_id
    left join shop_accounts_ranked
        on customers.customer_id = shop_accounts_ranked.customer_id
            and shop_accounts_ranked.account_rank = 1
    left join emails_ranked
        on customers.customer_id = emails_ranked.customer_id
            and emails_ranked.email_rank = 1
    left join consent_current
        on customers.customer_id = consent_current.customer_id
    left join int_customer_order_summary
        on customers.customer_id = int_customer_order_summary.customer_id
    left join int_customer_web_summary
        on customers.customer_id = int_customer_web_summary.customer_id
    left join int_customer_email_summary
        on customers.customer_id = int_customer_email_summary.customer_id
),

-- recency in days and RFM quintiles among customers with a counted order; tied values
-- share the score of the first customer of the tie in ntile order

with_days as (
    select
        *,
        {{ dbt.datediff('cast(last_order_at as date)', as_of, 'day') }}
            as days_since_last_order_raw
    from joined
),

rfm_ntiles as (
    select
        customer_id,
        days_since_last_order_raw,
        orders_lifetime,
        lifetime_revenue_usd,
        ntile(5) over (order by days_since_last_order_raw desc, customer_id asc) as recency_ntile,
        ntile(5) over (order by orders_lifetime, customer_id) as frequency_ntile,
        ntile(5) over (order by lifetime_revenue_usd, customer_id) as monetary_ntile
    from with_days
    where orders_lifetime > 0
),

rfm_scores as (
    select
        customer_id,
        min(recency_ntile) over (partition by days_since_last_order_raw) as rfm_recency_score,
        min(frequency_ntile) over (partition by orders_lifetime) as rfm_frequency_score,
        min(monetary_ntile) over (partition by lifetime_revenue_usd) as rfm_monetary_score
    from rfm_ntiles
),

final as (
    select
        cast(with_days.customer_id as {{ dbt.type_string() }}) as customer_id,
        {{ as_of }} as as_of_date,
        cast(with_days.contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(with_days.shop_customer_id as {{ dbt.type_string() }}) as shop_customer_id,
        cast(with_days.email as {{ dbt.type_string() }}) as email,
        cast(coalesce(with_days.crm_first_name, 'unknown') as {{ dbt.type_string() }}) as first_name,
        cast(coalesce(with_days.crm_country_code, 'unknown') as {{ dbt.type_string() }}) as country_code,
        cast(
            case
                when with_days.birth_date is null then 0
                else extract(year from {{ as_of }}) - extract(year from with_days.birth_date)
                    - case
                        when extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
                            < extract(month from with_days.birth_date) * 100 + extract(day from with_days.birth_date)
                            then 1
                        else 0
                    end
            end
            as integer
        ) as age_years,
        cast(coalesce(with_days.crm_lifecycle_stage, 'unknown') as {{ dbt.type_string() }}) as lifecycle_stage,
        cast(with_days.earliest_seen_at as {{ dbt.type_timestamp() }}) as signed_up_at,
        cast(with_days.first_order_at as {{ dbt.type_timestamp() }}) as first_order_at,
        cast(with_days.last_order_at as {{ dbt.type_timestamp() }}) as last_order_at,
        cast(
            coalesce(
                {{ dbt.datediff('cast(with_days.earliest_seen_at as date)', as_of, 'day') }},
                0
            ) as integer
        ) as days_since_signup,
        cast(
            coalesce(
                {{ dbt.datediff('cast(with_days.first_order_at as date)', as_of, 'day') }},
                9999
            ) as integer
        ) as days_since_first_order,
        cast(coalesce(with_days.days_since_last_order_raw, 9999) as integer) as days_since_last_order,
        cast(
            coalesce(
                {{ dbt.datediff('cast(with_days.first_visit_at as date)', as_of, 'day') }},
                9999
            ) as integer
        ) as days_since_first_visit,
        cast(
            coalesce(
                {{ dbt.datediff('cast(with_days.last_visit_at as date)', as_of, 'day') }},
                9999
            ) as integer
        ) as days_since_last_visit,
        cast(
            coalesce(
                {{ dbt.datediff('cast(with_days.last_email_opened_at as date)', as_of, 'day') }},
                9999
            ) as integer
        ) as days_since_last_email_open,
        with_days.orders_lifetime > 0 as has_ordered,
        with_days.first_visit_at is not null as has_visited,
        with_days.last_email_opened_at is not null as has_opened_email,
        cast(with_days.orders_lifetime as integer) as orders_lifetime,
        cast(with_days.orders_last_30_days as integer) as orders_last_30_days,
        cast(with_days.orders_last_90_days as integer) as orders_last_90_days,
        cast(with_days.orders_last_365_days as integer) as orders_last_365_days,
        cast(with_days.lifetime_revenue_usd as decimal(18, 2)) as lifetime_revenue_usd,
        cast(
            case
                when with_days.orders_lifetime > 0 then with_days.lifetime_revenue_usd / with_days.orders_lifetime
                else 0
            end
            as decimal(18, 2)
        ) as average_order_value_usd,
        cast(with_days.emails_sent_last_30_days as integer) as emails_sent_last_30_days,
        cast(with_days.emails_sent_last_90_days as integer) as emails_sent_last_90_days,
        cast(with_days.emails_opened_last_30_days as integer) as emails_opened_last_30_days,
        cast(with_days.emails_opened_last_90_days as integer) as emails_opened_last_90_days,
        cast(with_days.emails_clicked_last_30_days as integer) as emails_clicked_last_30_days,
        cast(with_days.emails_clicked_last_90_days as integer) as emails_clicked_last_90_days,
        cast(
            case
                when with_days.emails_sent_last_90_days > 0
                    then 1.0 * with_days.emails_opened_last_90_days / with_days.emails_sent_last_90_days
                else 0
            end
            as decimal(5, 4)
        ) as email_open_rate_90_days,
        cast(
            case
                when with_days.emails_sent_last_90_days > 0
                    then 1.0 * with_days.emails_clicked_last_90_days / with_days.emails_sent_last_90_days
                else 0
            end
            as decimal(5, 4)
        ) as email_click_through_rate_90_days,
        with_days.opened_last_3_campaigns,
        cast(with_days.sessions_last_7_days as integer) as sessions_last_7_days,
        cast(with_days.sessions_last_30_days as integer) as sessions_last_30_days,
        cast(with_days.page_views_last_7_days as integer) as page_views_last_7_days,
        cast(with_days.page_views_last_30_days as integer) as page_views_last_30_days,
        coalesce(
            with_days.last_add_to_cart_at > with_days.last_placed_order_at
            or (with_days.last_add_to_cart_at is not null and with_days.last_placed_order_at is null),
            false
        ) as has_open_cart,
        cast(
            case
                when with_days.last_add_to_cart_at > with_days.last_placed_order_at
                    or (with_days.last_add_to_cart_at is not null and with_days.last_placed_order_at is null)
                    then with_days.last_add_to_cart_at
            end
            as {{ dbt.type_timestamp() }}
        ) as cart_abandoned_at,
        with_days.has_email_consent,
        with_days.has_sms_consent,
        with_days.has_ads_consent,
        cast(coalesce(rfm_scores.rfm_recency_score, 0) as integer) as rfm_recency_score,
        cast(coalesce(rfm_scores.rfm_frequency_score, 0) as integer) as rfm_frequency_score,
        cast(coalesce(rfm_scores.rfm_monetary_score, 0) as integer) as rfm_monetary_score,
        cast(
            {{ dbt.concat([
                "cast(coalesce(rfm_scores.rfm_recency_score, 0) as " ~ dbt.type_string() ~ ")",
                "cast(coalesce(rfm_scores.rfm_frequency_score, 0) as " ~ dbt.type_string() ~ ")",
                "cast(coalesce(rfm_scores.rfm_monetary_score, 0) as " ~ dbt.type_string() ~ ")",
            ]) }}
            as {{ dbt.type_string() }}
        ) as rfm_cell,
        with_days.email is not null as is_email_known,
        with_days.crm_country_code is not null as is_country_known,
        with_days.birth_date is not null as is_birth_date_known,
        with_days.crm_first_name is not null as is_name_known,
        cast(
            (
                case when with_days.email is not null then 1 else 0 end
                + case when with_days.crm_country_code is not null then 1 else 0 end
                + case when with_days.birth_date is not null then 1 else 0 end
                + case when with_days.crm_first_name is not null then 1 else 0 end
            ) / 4.0
            as decimal(3, 2)
        ) as profile_completeness
    from with_days
    left join rfm_scores
        on with_days.customer_id = rfm_scores.customer_id
)

select * from final
