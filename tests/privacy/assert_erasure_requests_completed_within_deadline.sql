-- Fails for every erasure request still pending more than `erasure_deadline_days` after it
-- was received. Completing a request (scripts/erasure.py, which the scheduled build runs
-- before dbt) deletes it with the person's data and records it in privacy.erasure_log, so
-- a staged request is one that has not been completed; GDPR Art. 12(3) allows one month.
{{ config(severity='error') }}

with

stg_privacy__erasure_requests as (
    select * from {{ ref('stg_privacy__erasure_requests') }}
),

overdue_requests as (
    select
        erasure_request_id,
        requested_at,
        loaded_at
    from stg_privacy__erasure_requests
    where requested_at < {{ dbt.dateadd('day', -1 * var('erasure_deadline_days'), as_of_cutoff()) }}
)

select * from overdue_requests
