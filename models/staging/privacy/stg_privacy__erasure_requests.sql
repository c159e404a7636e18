-- One row per erasure (right-to-be-forgotten) request, identifying its subject by
-- normalised email and/or CRM contact id.
with

base as (
    select * from {{ ref('base_privacy__erasure_requests') }}
),

staged as (
    select
        erasure_request_id,
        contact_id,
        email,
        request_channel,
        requested_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from base
    where row_disposition = 'staged'
)

select * from staged
