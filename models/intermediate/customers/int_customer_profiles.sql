-- One row per customer of int_customers_as_of (known at as_of, neither erased nor a test
-- account): their profile as of the as_of date, assembled from their primary CRM contact,
-- consent, RFM scores and order, web and email summaries, with every fallback applied (a
-- feature that cannot be computed is 0, 9999, false or 'unknown', never null). Every
-- feature reads only data at or before the end of the as_of day; an N-day window is the N
-- days ending on as_of. dim_customers is its contract-enforced public face; segment rules
-- read it here.
{% set as_of = as_of_date() %}
{#- sign-up: the earliest of CRM sign-up, first counted order and first visit; a customer
    with none of them (known only from email) falls back to when they were first seen -#}
{% set signup_fallback_at %}
    coalesce(
        int_customer_contacts_as_of.crm_signed_up_at,
        int_customer_order_summary.first_order_at,
        int_customer_web_summary.first_visit_at,
        int_customers_as_of.first_seen_at
    )
{% endset %}

with

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

int_customer_contacts_as_of as (
    select * from {{ ref('int_customer_contacts_as_of') }}
),

int_customer_consent_as_of as (
    select * from {{ ref('int_customer_consent_as_of') }}
),

int_customer_rfm_scores as (
    select * from {{ ref('int_customer_rfm_scores') }}
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

-- assemble with fallbacks

joined as (
    select
        int_customers_as_of.customer_id,
        int_customer_contacts_as_of.contact_id,
        int_customers_as_of.shop_customer_id,
        coalesce(int_customer_contacts_as_of.email, int_customers_as_of.first_email) as email,
        int_customer_contacts_as_of.first_name as crm_first_name,
        int_customer_contacts_as_of.country_code as crm_country_code,
        int_customer_contacts_as_of.birth_date,
        int_customer_contacts_as_of.lifecycle_stage as crm_lifecycle_stage,
        least(
            coalesce(int_customer_contacts_as_of.crm_signed_up_at, {{ signup_fallback_at }}),
            coalesce(int_customer_order_summary.first_order_at, {{ signup_fallback_at }}),
            coalesce(int_customer_web_summary.first_visit_at, {{ signup_fallback_at }})
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
        coalesce(int_customer_consent_as_of.has_email_consent, false) as has_email_consent,
        coalesce(int_customer_consent_as_of.has_sms_consent, false) as has_sms_consent,
        coalesce(int_customer_consent_as_of.has_ads_consent, false) as has_ads_consent,
        coalesce(int_customer_consent_as_of.has_onsite_consent, false) as has_onsite_consent,
        coalesce(int_customer_consent_as_of.is_email_undeliverable, false) as is_email_undeliverable
    from int_customers_as_of
    left join int_customer_contacts_as_of
        on int_customers_as_of.customer_id = int_customer_contacts_as_of.customer_id
    left join int_customer_consent_as_of
        on int_customers_as_of.customer_id = int_customer_consent_as_of.customer_id
    left join int_customer_order_summary
        on int_customers_as_of.customer_id = int_customer_order_summary.customer_id
    left join int_customer_web_summary
        on int_customers_as_of.customer_id = int_customer_web_summary.customer_id
    left join int_customer_email_summary
        on int_customers_as_of.customer_id = int_customer_email_summary.customer_id
),

with_days as (
    select
        *,
        {{ dbt.datediff('cast(last_order_at as date)', as_of, 'day') }}
            as days_since_last_order_raw
    from joined
),

final as (
    select
        cast(with_days.customer_id as {{ dbt.type_string() }}) as customer_id,
        {{ as_of }} as as_of_date,
        cast(with_days.contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(with_days.shop_customer_id as {{ dbt.type_string() }}) as shop_customer_id,
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
        with_days.has_onsite_consent,
        with_days.is_email_undeliverable,
        cast(coalesce(int_customer_rfm_scores.rfm_recency_score, 0) as integer) as rfm_recency_score,
        cast(coalesce(int_customer_rfm_scores.rfm_frequency_score, 0) as integer) as rfm_frequency_score,
        cast(coalesce(int_customer_rfm_scores.rfm_monetary_score, 0) as integer) as rfm_monetary_score,
        cast(
            {{ dbt.concat([
                "cast(coalesce(int_customer_rfm_scores.rfm_recency_score, 0) as " ~ dbt.type_string() ~ ")",
                "cast(coalesce(int_customer_rfm_scores.rfm_frequency_score, 0) as " ~ dbt.type_string() ~ ")",
                "cast(coalesce(int_customer_rfm_scores.rfm_monetary_score, 0) as " ~ dbt.type_string() ~ ")",
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
    left join int_customer_rfm_scores
        on with_days.customer_id = int_customer_rfm_scores.customer_id
)

select * from final
