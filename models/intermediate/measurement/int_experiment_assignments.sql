{#-
    One row per experiment per customer ever assigned to it: the arm, the buckets that
    chose it and the day the assignment counts from. Each build of a running experiment
    (as_of between its start and end date) assigns the customers of its audience
    (eligible ones) or segment (members) that are not assigned yet:
    - in the experiment when md5('<experiment_key>|<customer_id>') falls in the first
      coverage_percent * 100 of 10,000 buckets (holdout_bucket), so raising coverage only
      adds units;
    - the arm from a second, independent hash, md5('<experiment_key>:arm|<customer_id>'),
      against the arms' bucket ranges (experiment_arm_rows), so coverage never moves a unit
      between arms;
    - left out when the experiment honours the global control group and the customer's
      md5('global_control|<customer_id>') bucket is below its percent * 100.
    A unit's first assignment is kept for good (append only; a customer who leaves the
    audience stays assigned). The first build of an experiment dates its assignments
    start_date (an experiment registered after its start measures from the start); later
    builds date new units as_of. Full refresh is disabled: a rebuild cannot replay the
    audiences of past days.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

{%- set arm_hash_key = dbt.concat(['target_units.experiment_key', "':arm'"]) %}

with

int_audience_eligibility as (
    select * from {{ ref('int_audience_eligibility') }}
),

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

experiment_arms as (
    {{ experiment_arm_rows() }}
),

experiments_assigning as (
    select distinct
        experiment_key,
        audience_key,
        segment_key,
        start_date,
        coverage_percent,
        global_control_percent
    from experiment_arms
    where experiment_status = 'running'
        and {{ as_of_date() }} between start_date and end_date
),

audience_units as (
    select
        experiments_assigning.experiment_key,
        int_audience_eligibility.customer_id
    from experiments_assigning
    inner join int_audience_eligibility
        on experiments_assigning.audience_key = int_audience_eligibility.audience_key
    where int_audience_eligibility.eligibility_status = 'eligible'
),

segment_units as (
    select
        experiments_assigning.experiment_key,
        int_segment_memberships.customer_id
    from experiments_assigning
    inner join int_segment_memberships
        on experiments_assigning.segment_key = int_segment_memberships.segment_key
),

target_units as (
    select * from audience_units
    union all
    select * from segment_units
),

bucketed_units as (
    select distinct
        target_units.experiment_key,
        target_units.customer_id,
        {{ holdout_bucket('target_units.experiment_key', 'target_units.customer_id') }} as experiment_bucket,
        {{ holdout_bucket(arm_hash_key, 'target_units.customer_id') }} as arm_bucket,
        {{ holdout_bucket("'global_control'", 'target_units.customer_id') }} as global_control_bucket
    from target_units
),

{% if is_incremental() %}

    recorded_assignments as (
        select
            experiment_key,
            customer_id
        from {{ this }}
    ),

    experiments_started as (
        select distinct experiment_key
        from recorded_assignments
    ),

{% else %}

    recorded_assignments as (
        select
            cast(null as {{ dbt.type_string() }}) as experiment_key,
            cast(null as {{ dbt.type_string() }}) as customer_id
        where 1 = 0
    ),

    experiments_started as (
        select experiment_key
        from recorded_assignments
    ),

{% endif %}

units_in_experiment as (
    select
        bucketed_units.experiment_key,
        bucketed_units.customer_id,
        bucketed_units.experiment_bucket,
        bucketed_units.arm_bucket,
        case
            when experiments_started.experiment_key is null then experiments_assigning.start_date
            else {{ as_of_date() }}
        end as assigned_date
    from bucketed_units
    inner join experiments_assigning
        on bucketed_units.experiment_key = experiments_assigning.experiment_key
    left join experiments_started
        on bucketed_units.experiment_key = experiments_started.experiment_key
    where bucketed_units.experiment_bucket < experiments_assigning.coverage_percent * 100
        and bucketed_units.global_control_bucket >= experiments_assigning.global_control_percent * 100
),

new_units as (
    select units_in_experiment.*
    from units_in_experiment
    left join recorded_assignments
        on units_in_experiment.experiment_key = recorded_assignments.experiment_key
            and units_in_experiment.customer_id = recorded_assignments.customer_id
    where recorded_assignments.customer_id is null
),

final as (
    select
        new_units.experiment_key,
        new_units.customer_id,
        experiment_arms.arm_key,
        experiment_arms.is_control_arm,
        experiment_arms.arm_weight_percent,
        new_units.experiment_bucket,
        new_units.arm_bucket,
        new_units.assigned_date,
        {{ build_started_at() }} as assigned_at
    from new_units
    inner join experiment_arms
        on new_units.experiment_key = experiment_arms.experiment_key
            and new_units.arm_bucket >= experiment_arms.arm_bucket_from
            and new_units.arm_bucket < experiment_arms.arm_bucket_to
)

select * from final
