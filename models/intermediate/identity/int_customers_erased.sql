-- One row per customer with an erasure request at or before as_of, matched to the
-- customer by the request's email or CRM contact id. When several requests match, the
-- earliest is reported and all are counted. Downstream models give these customers no
-- profile.
with

stg_privacy__erasure_requests as (
    select * from {{ ref('stg_privacy__erasure_requests') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

requests_in_window as (
    select
        erasure_request_id,
        contact_id,
        email,
        requested_at
    from stg_privacy__erasure_requests
    where requested_at < {{ as_of_cutoff() }}
),

request_identifiers as (
    select
        erasure_request_id,
        requested_at,
        'email' as identifier_type,
        email as identifier_value
    from requests_in_window
    where email is not null

    union all

    select
        erasure_request_id,
        requested_at,
        'contact_id' as identifier_type,
        contact_id as identifier_value
    from requests_in_window
    where contact_id is not null
),

matched_requests as (
    select distinct
        int_identifiers_resolved_to_customers.customer_id,
        request_identifiers.erasure_request_id,
        request_identifiers.requested_at
    from request_identifiers
    inner join int_identifiers_resolved_to_customers
        on request_identifiers.identifier_type = int_identifiers_resolved_to_customers.identifier_type
            and request_identifiers.identifier_value = int_identifiers_resolved_to_customers.identifier_value
),

ranked_requests as (
    select
        customer_id,
        erasure_request_id,
        requested_at,
        row_number() over (
            partition by customer_id
            order by requested_at, erasure_request_id
        ) as request_rank,
        count(*) over (partition by customer_id) as erasure_request_count
    from matched_requests
),

final as (
    select
        customer_id,
        erasure_request_id,
        requested_at,
        erasure_request_count
    from ranked_requests
    where request_rank = 1
)

select * from final
