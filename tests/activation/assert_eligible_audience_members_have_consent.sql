-- Fails for every eligible or held-out audience member without granted consent, at as_of,
-- for the audience's consent purpose in the consent of record. Nobody is exported (and no
-- holdout is measured) without consent for the audience's channel and purpose.
with

fct_audience_eligibility as (
    select * from {{ ref('fct_audience_eligibility') }}
),

dim_audiences as (
    select * from {{ ref('dim_audiences') }}
),

int_customer_consent_purposes_as_of as (
    select * from {{ ref('int_customer_consent_purposes_as_of') }}
),

final as (
    select
        fct_audience_eligibility.audience_key,
        fct_audience_eligibility.customer_id,
        fct_audience_eligibility.eligibility_status,
        dim_audiences.consent_purpose,
        int_customer_consent_purposes_as_of.consent_status
    from fct_audience_eligibility
    inner join dim_audiences
        on fct_audience_eligibility.audience_key = dim_audiences.audience_key
    left join int_customer_consent_purposes_as_of
        on fct_audience_eligibility.customer_id = int_customer_consent_purposes_as_of.customer_id
            and dim_audiences.consent_purpose = int_customer_consent_purposes_as_of.purpose
    where fct_audience_eligibility.eligibility_status in ('eligible', 'holdout')
        and not coalesce(int_customer_consent_purposes_as_of.is_granted, false)
)

select * from final
