{#-
    One row per identifier whose component int_identifiers_resolved_to_customers labels
    this run, or whose stored customer it clears, with the reason. Without stored labels
    (first run, --full-refresh) that is every unblocked identifier.

    Against the stored table (identity_stored_resolution) an identifier is changed when
    its first_seen_at, neighbour count or neighbour fingerprint differs now, when it was
    stored and is now blocked or gone, or when it is new and could belong to a customer
    (person-level, or with a neighbour). A component after the change consists of changed
    identifiers and whole stored customers of changed identifiers: a path from a changed
    identifier either follows edges that already existed, which stay inside one stored
    customer, or an edge that is new, whose two ends both changed. So the run labels the
    changed identifiers and every identifier of their stored customers, and replaces
    those customers' rows (stored_customer_id of every row here).

    Ephemeral, so it is worked out inside the labelling model's own run, from the table
    as that run finds it: a table of it would be stale whenever the labelling model runs
    without it (dbt run --full-refresh --select int_identifiers_resolved_to_customers).
-#}
-- depends_on: {{ ref('int_identifier_neighbourhoods') }}
{{ config(materialized='ephemeral') }}

{%- set stored_resolution = identity_stored_resolution() %}

with

int_identity_nodes as (
    select * from {{ ref('int_identity_nodes') }}
),

{% if stored_resolution is none %}

    final as (
        select
            identifier_type,
            identifier_value,
            first_seen_at,
            cast(null as {{ dbt.type_string() }}) as stored_customer_id,
            true as is_current,
            'no_stored_labels' as relabel_reason
        from int_identity_nodes
        where not is_blocked
    )

{% else %}

    int_identifier_neighbourhoods as (
        select * from {{ ref('int_identifier_neighbourhoods') }}
    ),

    -- Every identifier as it looks now.
    current_identifiers as (
        select
            int_identity_nodes.identifier_type,
            int_identity_nodes.identifier_value,
            int_identity_nodes.first_seen_at,
            int_identity_nodes.is_blocked,
            int_identity_nodes.is_person_level,
            coalesce(int_identifier_neighbourhoods.neighbour_count, 0) as neighbour_count,
            coalesce(int_identifier_neighbourhoods.neighbour_fingerprint, 0) as neighbour_fingerprint
        from int_identity_nodes
        left join int_identifier_neighbourhoods
            on int_identity_nodes.identifier_type = int_identifier_neighbourhoods.identifier_type
                and int_identity_nodes.identifier_value = int_identifier_neighbourhoods.identifier_value
    ),

    stored_identifiers as (
        select
            identifier_type,
            identifier_value,
            customer_id,
            first_seen_at,
            neighbour_count,
            neighbour_fingerprint
        from {{ stored_resolution }}
    ),

    compared_identifiers as (
        select
            coalesce(current_identifiers.identifier_type, stored_identifiers.identifier_type) as identifier_type,
            coalesce(current_identifiers.identifier_value, stored_identifiers.identifier_value) as identifier_value,
            current_identifiers.first_seen_at,
            stored_identifiers.customer_id as stored_customer_id,
            coalesce(not current_identifiers.is_blocked, false) as is_current,
            case
                when current_identifiers.identifier_value is null
                    then 'gone'
                when current_identifiers.is_blocked
                    then case when stored_identifiers.identifier_value is not null then 'blocked' end
                when stored_identifiers.identifier_value is null
                    then case
                        when current_identifiers.is_person_level or current_identifiers.neighbour_count > 0
                            then 'new'
                    end
                when current_identifiers.first_seen_at <> stored_identifiers.first_seen_at
                    then 'first_seen_at_changed'
                when current_identifiers.neighbour_count <> stored_identifiers.neighbour_count
                    or current_identifiers.neighbour_fingerprint <> stored_identifiers.neighbour_fingerprint
                    then 'neighbours_changed'
            end as change_reason
        from current_identifiers
        full outer join stored_identifiers
            on current_identifiers.identifier_type = stored_identifiers.identifier_type
                and current_identifiers.identifier_value = stored_identifiers.identifier_value
    ),

    changed_customers as (
        select distinct stored_customer_id as customer_id
        from compared_identifiers
        where change_reason is not null
            and stored_customer_id is not null
    ),

    final as (
        select
            compared_identifiers.identifier_type,
            compared_identifiers.identifier_value,
            compared_identifiers.first_seen_at,
            compared_identifiers.stored_customer_id,
            compared_identifiers.is_current,
            coalesce(compared_identifiers.change_reason, 'stored_customer_changed') as relabel_reason
        from compared_identifiers
        left join changed_customers
            on compared_identifiers.stored_customer_id = changed_customers.customer_id
        where compared_identifiers.change_reason is not null
            or changed_customers.customer_id is not null
    )

{% endif %}

select * from final
