-- One row per customer per campaign any of their email addresses received events for,
-- with the earliest send, open and click across those addresses.
with

int_email_recipient_campaigns as (
    select * from {{ ref('int_email_recipient_campaigns') }}
),

stg_email__campaigns as (
    select * from {{ ref('stg_email__campaigns') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

recipients_attributed as (
    select
        int_identifiers_resolved_to_customers.customer_id,
        int_email_recipient_campaigns.*
    from int_email_recipient_campaigns
    inner join int_identifiers_resolved_to_customers
        on int_identifiers_resolved_to_customers.identifier_type = 'email'
            and int_email_recipient_campaigns.email = int_identifiers_resolved_to_customers.identifier_value
),

customer_campaigns as (
    select
        customer_id,
        campaign_id,
        min(first_event_at) as first_event_at,
        min(first_sent_at) as first_sent_at,
        min(first_opened_at) as first_opened_at,
        max(last_opened_at) as last_opened_at,
        min(first_clicked_at) as first_clicked_at,
        max(last_clicked_at) as last_clicked_at
    from recipients_attributed
    group by
        customer_id,
        campaign_id
),

final as (
    select
        customer_campaigns.customer_id,
        customer_campaigns.campaign_id,
        stg_email__campaigns.campaign_type,
        coalesce(stg_email__campaigns.is_marketing, true) as is_marketing,
        customer_campaigns.first_sent_at is not null as was_sent,
        customer_campaigns.first_opened_at is not null as was_opened,
        customer_campaigns.first_clicked_at is not null as was_clicked,
        cast(coalesce(customer_campaigns.first_sent_at, customer_campaigns.first_event_at) as date) as activity_date,
        customer_campaigns.first_event_at,
        customer_campaigns.first_sent_at,
        customer_campaigns.first_opened_at,
        customer_campaigns.last_opened_at,
        customer_campaigns.first_clicked_at,
        customer_campaigns.last_clicked_at
    from customer_campaigns
    left join stg_email__campaigns
        on customer_campaigns.campaign_id = stg_email__campaigns.campaign_id
)

select * from final
