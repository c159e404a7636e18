-- One row per customer per day on which a marketing campaign was first sent to them (or,
-- for campaigns without a recorded send, first reached them), counting distinct campaigns.
-- Opens and clicks are counted against the day the campaign was sent, so summing a window
-- of days gives "of the campaigns sent in the window, how many were opened / clicked".
with

int_customer_email_campaigns as (
    select * from {{ ref('int_customer_email_campaigns') }}
),

final as (
    select
        customer_id,
        activity_date,
        sum(case when was_sent then 1 else 0 end) as campaigns_sent,
        sum(case when was_sent and was_opened then 1 else 0 end) as campaigns_opened,
        sum(case when was_sent and was_clicked then 1 else 0 end) as campaigns_clicked,
        max(last_opened_at) as last_opened_at
    from int_customer_email_campaigns
    where is_marketing
    group by
        customer_id,
        activity_date
)

select * from final
