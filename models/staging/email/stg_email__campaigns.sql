-- One row per email campaign.
with

base as (
    select * from {{ ref('base_email__campaigns') }}
),

staged as (
    select
        campaign_id,
        campaign_name,
        subject,
        campaign_type,
        campaign_type <> 'transactional' as is_marketing,
        scheduled_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
