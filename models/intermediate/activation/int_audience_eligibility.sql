-- One row per active audience per customer its segments take (int_audience_candidates):
-- whether the customer is eligible, held out or excluded, and why. Exclusion reasons are
-- tried in this order and the first that matches wins:
--   excluded_segment      member of one of the audience's `exclude` segments
--   consent_not_captured  the audience's consent purpose was never captured
--   consent_withdrawn     the purpose is withdrawn, unless a listed suppression decided it
--   email_undeliverable   email audience listing hard_bounce, and the address hard-bounced
--   spam_complaint        listed, and a spam complaint withdrew the purpose
--   global_unsubscribe    listed, and an unsubscribe from every channel withdrew it
--   manual_suppression    listed (`manual`), and the manual suppression list names the
--                         customer for the audience's channel or for all channels
--   no_contact_address    email needs an email address, sms a phone in E.164, ads either
--                         (their presence in int_customer_contact_points_as_of)
-- A customer not excluded is held out when their holdout bucket (0-9999, a hash of
-- audience key and customer id) is below holdout_percent * 100, else eligible.
with

int_audience_candidates as (
    select * from {{ ref('int_audience_candidates') }}
),

int_customer_consent_purposes_as_of as (
    select * from {{ ref('int_customer_consent_purposes_as_of') }}
),

int_customer_consent_as_of as (
    select * from {{ ref('int_customer_consent_as_of') }}
),

int_customer_contact_points_as_of as (
    select * from {{ ref('int_customer_contact_points_as_of') }}
),

int_customer_manual_suppressions as (
    select * from {{ ref('int_customer_manual_suppressions') }}
),

granted_purposes_by_channel as (
    select
        customer_id,
        channel,
        {{ dbt.listagg('purpose', "','", 'order by purpose') }} as granted_purposes
    from int_customer_consent_purposes_as_of
    where is_granted
    group by customer_id, channel
),

-- Candidates the manual suppression list names for the audience's channel or for all.
manually_suppressed as (
    select distinct
        int_audience_candidates.audience_key,
        int_audience_candidates.customer_id
    from int_audience_candidates
    inner join int_customer_manual_suppressions
        on int_audience_candidates.customer_id = int_customer_manual_suppressions.customer_id
            and (
                int_audience_candidates.channel = int_customer_manual_suppressions.channel
                or int_customer_manual_suppressions.channel = 'all'
            )
),

candidates_with_signals as (
    select
        int_audience_candidates.audience_key,
        int_audience_candidates.customer_id,
        int_audience_candidates.qualifying_segment_key,
        int_audience_candidates.is_in_excluded_segment,
        int_audience_candidates.channel,
        int_audience_candidates.holdout_percent,
        int_audience_candidates.suppressions,
        coalesce(purpose_consent.consent_status, 'not_captured') as consent_status,
        purpose_consent.decided_by_signal_type,
        coalesce(int_customer_consent_as_of.is_email_undeliverable, false) as is_email_undeliverable,
        int_customer_contact_points_as_of.email is not null as has_email_address,
        int_customer_contact_points_as_of.phone_e164 is not null as has_phone_number,
        manually_suppressed.customer_id is not null as is_manually_suppressed,
        granted_purposes_by_channel.granted_purposes,
        {{ holdout_bucket(
            'int_audience_candidates.audience_key', 'int_audience_candidates.customer_id'
        ) }} as holdout_bucket
    from int_audience_candidates
    left join int_customer_consent_purposes_as_of as purpose_consent
        on int_audience_candidates.customer_id = purpose_consent.customer_id
            and int_audience_candidates.consent_purpose = purpose_consent.purpose
    left join int_customer_consent_as_of
        on int_audience_candidates.customer_id = int_customer_consent_as_of.customer_id
    left join int_customer_contact_points_as_of
        on int_audience_candidates.customer_id = int_customer_contact_points_as_of.customer_id
    left join manually_suppressed
        on int_audience_candidates.audience_key = manually_suppressed.audience_key
            and int_audience_candidates.customer_id = manually_suppressed.customer_id
    left join granted_purposes_by_channel
        on int_audience_candidates.customer_id = granted_purposes_by_channel.customer_id
            and int_audience_candidates.channel = granted_purposes_by_channel.channel
),

-- A withdrawal has its own reason when a listed suppression decided it.
withdrawal_reasons as (
    select
        *,
        case
            when consent_status != 'withdrawn' then null
            when decided_by_signal_type = 'spam_complaint' and suppressions like '%,spam_complaint,%'
                then 'spam_complaint'
            when decided_by_signal_type = 'global_unsubscribe' and suppressions like '%,global_unsubscribe,%'
                then 'global_unsubscribe'
            else 'consent_withdrawn'
        end as withdrawal_reason
    from candidates_with_signals
),

exclusions as (
    select
        *,
        case
            when is_in_excluded_segment then 'excluded_segment'
            when consent_status = 'not_captured' then 'consent_not_captured'
            when withdrawal_reason = 'consent_withdrawn' then 'consent_withdrawn'
            when channel = 'email' and suppressions like '%,hard_bounce,%' and is_email_undeliverable
                then 'email_undeliverable'
            when withdrawal_reason = 'spam_complaint' then 'spam_complaint'
            when withdrawal_reason = 'global_unsubscribe' then 'global_unsubscribe'
            when suppressions like '%,manual,%' and is_manually_suppressed then 'manual_suppression'
            when channel = 'email' and not has_email_address then 'no_contact_address'
            when channel = 'sms' and not has_phone_number then 'no_contact_address'
            when channel = 'ads' and not (has_email_address or has_phone_number) then 'no_contact_address'
        end as exclusion_reason
    from withdrawal_reasons
),

final as (
    select
        audience_key,
        customer_id,
        qualifying_segment_key,
        case
            when exclusion_reason is not null then 'excluded'
            when holdout_bucket < holdout_percent * 100 then 'holdout'
            else 'eligible'
        end as eligibility_status,
        exclusion_reason,
        holdout_bucket,
        granted_purposes,
        {{ as_of_date() }} as as_of_date
    from exclusions
)

select * from final
