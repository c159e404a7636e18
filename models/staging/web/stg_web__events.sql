-- One row per web analytics event, first delivery only, typed and in UTC.
with

base as (
    select * from {{ ref('base_web__events') }}
),

staged as (
    select
        event_id,
        anonymous_id,
        user_id,
        product_id,
        event_type,
        page_url,
        utm_source,
        utm_medium,
        utm_campaign,
        device_type,
        occurred_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
