-- One row per customer per active segment whose rule (and every ancestor's rule) matches
-- the customer's profile at as_of, with the consent and completeness checks that decide
-- whether the match becomes a membership. Computed in one pass: every customer against
-- every active segment, filtered by one CASE generated from the segment registry. Each
-- match carries the profile values its condition read (rule_evidence, a JSON object).
{%- do validate_segment_registry() %}

with

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

active_segments as (
    select
        segment_key,
        priority as segment_priority,
        rule_hash
    from (
        {{ segment_catalog_rows(statuses=['active'], include_default=false) }}
    ) as registry_rows
),

customer_segment_pairs as (
    select
        active_segments.segment_key,
        active_segments.segment_priority,
        active_segments.rule_hash,
        int_customer_profiles.*
    from int_customer_profiles
    cross join active_segments
),

rules_matched as (
    select
        customer_id,
        segment_key,
        segment_priority,
        rule_hash,
        {{ segment_condition_case('segment_key', 'consent_condition') }} as is_consent_given,
        {{ segment_default('condition') }} as is_profile_too_incomplete,
        {{ segment_evidence_case('segment_key') }} as rule_evidence
    from customer_segment_pairs
    where {{ segment_condition_case('segment_key', 'match_condition') }}
),

final as (
    select
        customer_id,
        segment_key,
        segment_priority,
        is_consent_given,
        is_profile_too_incomplete,
        is_consent_given and not is_profile_too_incomplete as is_member,
        rule_hash,
        rule_evidence
    from rules_matched
)

select * from final
