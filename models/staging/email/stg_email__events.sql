-- One row per email platform event (send, delivery, open, click, bounce, unsubscribe,
-- spam complaint) for one recipient of one campaign.
with

base as (
    select * from {{ ref('base_email__events') }}
),

staged as (
    select
        email_event_id,
        campaign_id,
        email,
        event_type,
        click_url,
        bounce_type,
        occurred_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
