{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['customer_id', 'segment_key', 'valid_from_date'],
        full_refresh=false,
    )
}}
-- One row per customer per segment per membership spell: when the customer entered the
-- segment (valid_from_date, the as_of of the build that first saw it) and why, and when
-- they left (valid_to_date, null while still a member) and why. Each build compares the
-- open spells with the current memberships: it closes the spells that ended and opens the
-- ones that started, and writes nothing for unchanged memberships, so rebuilding with the
-- same data and as_of changes nothing. Full refresh is disabled: the history survives.

with

fct_segment_memberships as (
    select * from {{ ref('fct_segment_memberships') }}
),

-- the next four CTEs are used only in the incremental branch below (hence noqa: ST03)

int_segment_rules_evaluated as (  -- noqa: ST03
    select * from {{ ref('int_segment_rules_evaluated') }}
),

int_segment_definitions_historized as (  -- noqa: ST03
    select * from {{ ref('int_segment_definitions_historized') }}
),

int_customers_erased as (  -- noqa: ST03
    select * from {{ ref('int_customers_erased') }}
),

dim_customers as (  -- noqa: ST03
    select * from {{ ref('dim_customers') }}
),

{% if is_incremental() %}
    recorded_spells as (
        select * from {{ this }}
    ),

    current_definitions as (
        {{ segment_catalog_rows() }}
    ),

    definitions_before_this_build as (
        select * from int_segment_definitions_historized
        where valid_from_date < {{ as_of_date() }}
    ),

    previous_definitions as (
        select
            segment_key,
            rule_hash,
            status
        from definitions_before_this_build
        where definition_version = (
            select max(same_segment.definition_version)
            from definitions_before_this_build as same_segment
            where same_segment.segment_key = definitions_before_this_build.segment_key
        )
    ),

    erased_customers as (
        select distinct customer_id
        from int_customers_erased
        where requested_at < {{ as_of_cutoff() }}
    ),

    open_spells as (
        select * from recorded_spells
        where valid_to_date is null
    ),

    ended_spells as (
        select
            open_spells.customer_id,
            open_spells.segment_key,
            open_spells.valid_from_date,
            {{ as_of_date() }} as valid_to_date,
            open_spells.entry_reason,
            case
                when erased_customers.customer_id is not null then 'erasure'
                when current_definitions.segment_key is null
                    or current_definitions.status != 'active' then 'segment_archived'
                when previous_definitions.rule_hash != current_definitions.rule_hash then 'rule_change'
                when int_segment_rules_evaluated.customer_id is not null
                    and not int_segment_rules_evaluated.is_consent_given then 'consent_withdrawn'
                when dim_customers.customer_id is null then 'customer_removed'
                else 'behaviour_change'
            end as exit_reason,
            open_spells.entry_rule_hash
        from open_spells
        left join fct_segment_memberships
            on open_spells.customer_id = fct_segment_memberships.customer_id
                and open_spells.segment_key = fct_segment_memberships.segment_key
        left join erased_customers
            on open_spells.customer_id = erased_customers.customer_id
        left join current_definitions
            on open_spells.segment_key = current_definitions.segment_key
        left join previous_definitions
            on open_spells.segment_key = previous_definitions.segment_key
        left join int_segment_rules_evaluated
            on open_spells.customer_id = int_segment_rules_evaluated.customer_id
                and open_spells.segment_key = int_segment_rules_evaluated.segment_key
        left join dim_customers
            on open_spells.customer_id = dim_customers.customer_id
        where fct_segment_memberships.customer_id is null
    ),

    started_spells as (
        select
            fct_segment_memberships.customer_id,
            fct_segment_memberships.segment_key,
            {{ as_of_date() }} as valid_from_date,
            cast(null as date) as valid_to_date,
            case
                when previous_definitions.segment_key is null
                    or previous_definitions.status != 'active' then 'segment_activated'
                when previous_definitions.rule_hash != fct_segment_memberships.rule_hash then 'rule_change'
                else 'behaviour_change'
            end as entry_reason,
            cast(null as {{ dbt.type_string() }}) as exit_reason,
            fct_segment_memberships.rule_hash as entry_rule_hash
        from fct_segment_memberships
        left join open_spells
            on fct_segment_memberships.customer_id = open_spells.customer_id
                and fct_segment_memberships.segment_key = open_spells.segment_key
        left join previous_definitions
            on fct_segment_memberships.segment_key = previous_definitions.segment_key
        where open_spells.customer_id is null
    ),

    changed_spells as (
        select * from ended_spells
        union all
        select * from started_spells
    ),
{% else %}
    changed_spells as (
        select
            customer_id,
            segment_key,
            {{ as_of_date() }} as valid_from_date,
            cast(null as date) as valid_to_date,
            'history_started' as entry_reason,
            cast(null as {{ dbt.type_string() }}) as exit_reason,
            rule_hash as entry_rule_hash
        from fct_segment_memberships
    ),
{% endif %}

final as (
    select
        customer_id,
        segment_key,
        valid_from_date,
        valid_to_date,
        entry_reason,
        exit_reason,
        entry_rule_hash
    from changed_spells
)

select * from final
