-- One row per customer with at least one marketing campaign at or before the as_of day:
-- campaigns sent in the last 30 and 90 days and how many of those were opened and clicked,
-- the latest open, and whether the last three marketing sends were all opened. A
-- campaign counts on the day it was first sent to the customer (or first reached them,
-- for campaigns without a recorded send), so opens and clicks are counted against the
-- send and rates stay within 0..1. A campaign is marketing unless its definition says it
-- is transactional; one whose definition has not arrived yet counts as marketing.
with

int_customer_email_campaigns as (
    select * from {{ ref('int_customer_email_campaigns') }}
),

stg_email__campaigns as (
    select * from {{ ref('stg_email__campaigns') }}
),

marketing_campaigns as (
    select
        int_customer_email_campaigns.customer_id,
        int_customer_email_campaigns.campaign_id,
        int_customer_email_campaigns.activity_date,
        int_customer_email_campaigns.was_sent,
        int_customer_email_campaigns.was_opened,
        int_customer_email_campaigns.was_clicked,
        int_customer_email_campaigns.first_sent_at,
        int_customer_email_campaigns.last_opened_at
    from int_customer_email_campaigns
    left join stg_email__campaigns
        on int_customer_email_campaigns.campaign_id = stg_email__campaigns.campaign_id
    where coalesce(stg_email__campaigns.is_marketing, true)
        and int_customer_email_campaigns.activity_date <= {{ as_of_date() }}
),

final as (
    select
        customer_id,
        {{ sum_over_last_days('1', 'activity_date', 30, condition='was_sent') }} as campaigns_sent_last_30_days,
        {{ sum_over_last_days('1', 'activity_date', 90, condition='was_sent') }} as campaigns_sent_last_90_days,
        {{ sum_over_last_days('1', 'activity_date', 30, condition='was_sent and was_opened') }}
            as campaigns_opened_last_30_days,
        {{ sum_over_last_days('1', 'activity_date', 90, condition='was_sent and was_opened') }}
            as campaigns_opened_last_90_days,
        {{ sum_over_last_days('1', 'activity_date', 30, condition='was_sent and was_clicked') }}
            as campaigns_clicked_last_30_days,
        {{ sum_over_last_days('1', 'activity_date', 90, condition='was_sent and was_clicked') }}
            as campaigns_clicked_last_90_days,
        max(last_opened_at) as last_opened_at,
        {{ latest_n_all_true('was_opened', ['first_sent_at', 'campaign_id'], 3, row_filter='was_sent') }}
            as opened_last_3_campaigns
    from marketing_campaigns
    group by customer_id
)

select * from final
