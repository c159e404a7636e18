-- One row per entry of the manual suppression list: a person activation never contacts
-- on a channel (email, sms, ads, or all), named by normalised email and/or phone with
-- its country code.
with

base as (
    select * from {{ ref('base_privacy__manual_suppressions') }}
),

staged as (
    select
        suppression_id,
        email,
        phone,
        channel,
        reason,
        suppressed_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
