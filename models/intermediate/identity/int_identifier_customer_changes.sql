{#-
    One row per identifier per build in which the customer it resolves to changed: the
    first build that resolved it, each build that moved it to another customer (a merge,
    a split, a blocked identifier) and the build that stopped resolving it (customer_id
    null). Each build compares the current `int_identifiers_resolved_to_customers` with
    the latest recorded row of every identifier and appends the differences, stamped with
    the build's start (changed_at), so an identifier's rows are its assignment history.

    Customer-level incremental models read the rows recorded after their own last build
    to find the customers whose identifiers moved: both the previous and the new customer
    must be recomputed. Full refresh is disabled: a rebuild cannot replay the history,
    and the downstream models' marks point into it.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}

with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

{% if is_incremental() %}

    recorded_changes as (
        select * from {{ this }}
    ),

    latest_change_times as (
        select
            identifier_type,
            identifier_value,
            max(changed_at) as changed_at
        from recorded_changes
        group by
            identifier_type,
            identifier_value
    ),

    recorded_assignments as (
        select
            recorded_changes.identifier_type,
            recorded_changes.identifier_value,
            recorded_changes.customer_id
        from recorded_changes
        inner join latest_change_times
            on recorded_changes.identifier_type = latest_change_times.identifier_type
                and recorded_changes.identifier_value = latest_change_times.identifier_value
                and recorded_changes.changed_at = latest_change_times.changed_at
        where recorded_changes.customer_id is not null
    ),

{% else %}

    recorded_assignments as (
        select
            identifier_type,
            identifier_value,
            customer_id
        from int_identifiers_resolved_to_customers
        where 1 = 0
    ),

{% endif %}

assignment_changes as (
    select
        coalesce(current_assignments.identifier_type, recorded_assignments.identifier_type) as identifier_type,
        coalesce(current_assignments.identifier_value, recorded_assignments.identifier_value) as identifier_value,
        current_assignments.customer_id,
        recorded_assignments.customer_id as previous_customer_id
    from int_identifiers_resolved_to_customers as current_assignments
    full outer join recorded_assignments
        on current_assignments.identifier_type = recorded_assignments.identifier_type
            and current_assignments.identifier_value = recorded_assignments.identifier_value
    where current_assignments.customer_id is null
        or recorded_assignments.customer_id is null
        or current_assignments.customer_id <> recorded_assignments.customer_id
),

final as (
    select
        identifier_type,
        identifier_value,
        customer_id,
        previous_customer_id,
        {{ build_started_at() }} as changed_at
    from assignment_changes
)

select * from final
