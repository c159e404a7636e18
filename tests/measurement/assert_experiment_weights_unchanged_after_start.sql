-- An experiment's arm weights cannot change once units are assigned: every arm recorded
-- on an assignment of a running or stopped experiment must still be in the registry with
-- the weight it was assigned under (adding an arm changes another's weight, since the
-- weights sum to 100). Returns the arms that differ.
with

fct_experiment_assignments as (
    select * from {{ ref('fct_experiment_assignments') }}
),

registry_arms as (
    {{ experiment_arm_rows() }}
),

recorded_arms as (
    select distinct
        experiment_key,
        arm_key,
        arm_weight_percent
    from fct_experiment_assignments
    where experiment_key in (select registry_arms.experiment_key from registry_arms)
),

changed_or_removed_arms as (
    select
        recorded_arms.experiment_key,
        recorded_arms.arm_key,
        recorded_arms.arm_weight_percent as recorded_weight_percent,
        registry_arms.arm_weight_percent as registry_weight_percent
    from recorded_arms
    left join registry_arms
        on recorded_arms.experiment_key = registry_arms.experiment_key
            and recorded_arms.arm_key = registry_arms.arm_key
    where registry_arms.arm_key is null
        or registry_arms.arm_weight_percent <> recorded_arms.arm_weight_percent
)

select * from changed_or_removed_arms
