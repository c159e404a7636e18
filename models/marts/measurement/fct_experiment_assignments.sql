-- One row per experiment per customer ever assigned to it (experiment registry,
-- _experiment_registry.yml): the arm and the buckets that chose it, kept from the first
-- assignment on (int_experiment_assignments documents the hashing).
with

int_experiment_assignments as (
    select * from {{ ref('int_experiment_assignments') }}
),

final as (
    select
        cast(experiment_key as {{ dbt.type_string() }}) as experiment_key,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(arm_key as {{ dbt.type_string() }}) as arm_key,
        cast(is_control_arm as {{ dbt.type_boolean() }}) as is_control_arm,
        cast(arm_weight_percent as {{ dbt.type_int() }}) as arm_weight_percent,
        cast(experiment_bucket as {{ dbt.type_int() }}) as experiment_bucket,
        cast(arm_bucket as {{ dbt.type_int() }}) as arm_bucket,
        cast(assigned_date as date) as assigned_date,
        cast(assigned_at as {{ dbt.type_timestamp() }}) as assigned_at
    from int_experiment_assignments
)

select * from final
