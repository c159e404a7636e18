{#-
    One row per identifier that belongs to a customer, with the customer's stable id.
    A customer is a connected component of the identity graph (stitching edges only, no
    blocked identifier) that holds at least one person-level identifier; a device seen
    only anonymously is not a customer.

    Components are found by min-label propagation over node keys ordered by type
    precedence then value (see identity_identifier_key), unrolled into
    identity_label_propagation_rounds rounds (default 5). Each round takes the smallest
    label among a node and its neighbours, hooks every label owner onto the smallest
    label any node pointing at it found, and jumps each node to its label owner's label.
    The rounds needed grow with the logarithm of a component's diameter (at most 4 for
    components within identity_max_component_size, 6 for a 100-node chain); the
    identity_labels_converged test fails the build if the labelling did not finish.
    Identifiers are numbered in key order so the graph work joins and compares integers;
    identifiers with one neighbour (most anonymous devices, many contacts) are left out
    of the rounds and take their neighbour's label afterwards, which keeps them small.
    The representative is the smallest key of the component, and customer_id is
    'cus_' || hash('<type>:<value>') of the representative, so the same evidence always
    yields the same ids.

    Incremental runs relabel only the components that changed. Each row keeps what its
    identifier looked like when labelled: first_seen_at, its number of stitching
    neighbours and a fingerprint of their set (set_fingerprint). An identifier is changed
    when one of these differs now, when it was stored and is now blocked or gone, or when
    it is new and could belong to a customer (person-level, or with a neighbour). A
    component after the change consists of changed identifiers and whole stored customers
    of changed identifiers: a path from a changed identifier either follows edges that
    already existed, which stay inside one stored customer, or an edge that is new, whose
    two ends both changed. So the run labels the changed identifiers and every identifier
    of their stored customers, with the same rounds, and the replace_keys strategy
    replaces those customers' rows (a key-only row per stored customer clears one that
    no longer exists). Moving as_of back needs --full-refresh, as for every incremental
    model.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        key_only_when_null='identifier_value',
        on_schema_change='fail',
    )
}}

{#- A table built before this model was incremental has no fingerprints to compare. -#}
{%- if is_incremental() and execute and model.resource_type != 'unit_test' %}
    {%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if 'neighbour_fingerprint' not in stored_columns %}
        {{ exceptions.raise_compiler_error(
            this ~ " was built before identity resolution became incremental and has no"
            ~ " neighbour_count or neighbour_fingerprint to compare with. Run once:"
            ~ " dbt run --full-refresh --select int_identifiers_resolved_to_customers"
        ) }}
    {%- endif %}
{%- endif %}
{%- set rounds = var('identity_label_propagation_rounds', 5) | int %}
{%- set representative_hash = dbt.hash(dbt.concat(['identifier_type', "':'", 'identifier_value'])) %}
with

-- Read twice below (each side of a pair), two columns each time: inlined, not held whole.
int_identity_observations as {{ not_materialized() }} (
    select * from {{ ref('int_identity_observations') }}
),

-- Read twice in an incremental run (fingerprints, then the edges to label): inlined.
int_identity_edges as {{ not_materialized() }} (
    select * from {{ ref('int_identity_edges') }}
),

int_identity_blocked_identifiers as (
    select * from {{ ref('int_identity_blocked_identifiers') }}
),

observed_identifiers as (
    select
        identifier_type,
        identifier_value,
        first_seen_at
    from int_identity_observations

    union all

    select
        linked_identifier_type as identifier_type,
        linked_identifier_value as identifier_value,
        first_seen_at
    from int_identity_observations
    where linked_identifier_value is not null
),

identifiers as (
    select
        identifier_type,
        identifier_value,
        min(first_seen_at) as first_seen_at
    from observed_identifiers
    group by
        identifier_type,
        identifier_value
),

unblocked_identifiers as (
    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.first_seen_at
    from identifiers
    left join int_identity_blocked_identifiers
        on identifiers.identifier_type = int_identity_blocked_identifiers.identifier_type
            and identifiers.identifier_value = int_identity_blocked_identifiers.identifier_value
    where int_identity_blocked_identifiers.identifier_value is null
),

{% if is_incremental() %}

    -- The stitching edges as text, once per pair however many sources link it (the
    -- fingerprint needs distinct neighbours). An edge touching a blocked identifier is
    -- dropped, so both ends of every pair are unblocked.
    stitching_pairs as (
        select distinct
            identifier_type,
            identifier_value,
            linked_identifier_type,
            linked_identifier_value
        from int_identity_edges
        where not is_dropped
    ),

    directed_pairs as (
        select
            identifier_type,
            identifier_value,
            linked_identifier_type,
            linked_identifier_value
        from stitching_pairs

        union all

        select
            linked_identifier_type as identifier_type,
            linked_identifier_value as identifier_value,
            identifier_type as linked_identifier_type,
            identifier_value as linked_identifier_value
        from stitching_pairs
    ),

    neighbourhoods as (
        select
            identifier_type,
            identifier_value,
            count(*) as neighbour_count,
            {{ set_fingerprint(key_hash(['linked_identifier_type', 'linked_identifier_value'])) }}
                as neighbour_fingerprint
        from directed_pairs
        group by
            identifier_type,
            identifier_value
    ),

    -- Every identifier that may belong to a customer, as it looks now.
    current_identifiers as (
        select
            unblocked_identifiers.identifier_type,
            unblocked_identifiers.identifier_value,
            unblocked_identifiers.first_seen_at,
            coalesce(neighbourhoods.neighbour_count, 0) as neighbour_count,
            coalesce(neighbourhoods.neighbour_fingerprint, 0) as neighbour_fingerprint
        from unblocked_identifiers
        left join neighbourhoods
            on unblocked_identifiers.identifier_type = neighbourhoods.identifier_type
                and unblocked_identifiers.identifier_value = neighbourhoods.identifier_value
    ),

    stored_identifiers as (
        select
            identifier_type,
            identifier_value,
            customer_id,
            first_seen_at,
            neighbour_count,
            neighbour_fingerprint
        from {{ this }}
    ),

    compared_identifiers as (
        select
            coalesce(current_identifiers.identifier_type, stored_identifiers.identifier_type) as identifier_type,
            coalesce(current_identifiers.identifier_value, stored_identifiers.identifier_value) as identifier_value,
            stored_identifiers.customer_id as stored_customer_id,
            current_identifiers.identifier_value is not null as is_current,
            case
                when current_identifiers.identifier_value is null
                    then true
                when stored_identifiers.identifier_value is null
                    then current_identifiers.identifier_type in ({{ identity_person_level_types() }})
                    or current_identifiers.neighbour_count > 0
                else current_identifiers.first_seen_at <> stored_identifiers.first_seen_at
                    or current_identifiers.neighbour_count <> stored_identifiers.neighbour_count
                    or current_identifiers.neighbour_fingerprint <> stored_identifiers.neighbour_fingerprint
            end as has_changed
        from current_identifiers
        full outer join stored_identifiers
            on current_identifiers.identifier_type = stored_identifiers.identifier_type
                and current_identifiers.identifier_value = stored_identifiers.identifier_value
    ),

    changed_customers as (
        select distinct stored_customer_id as customer_id
        from compared_identifiers
        where has_changed
            and stored_customer_id is not null
    ),

    relabelled_identifiers as (
        select
            compared_identifiers.identifier_type,
            compared_identifiers.identifier_value
        from compared_identifiers
        left join changed_customers
            on compared_identifiers.stored_customer_id = changed_customers.customer_id
        where compared_identifiers.is_current
            and (compared_identifiers.has_changed or changed_customers.customer_id is not null)
    ),

    graph_identifiers as (
        select
            current_identifiers.identifier_type,
            current_identifiers.identifier_value,
            current_identifiers.first_seen_at
        from current_identifiers
        inner join relabelled_identifiers
            on current_identifiers.identifier_type = relabelled_identifiers.identifier_type
                and current_identifiers.identifier_value = relabelled_identifiers.identifier_value
    ),

{% else %}

    graph_identifiers as (
        select * from unblocked_identifiers
    ),

{% endif %}

numbered_identifiers as (
    select
        identifier_type,
        identifier_value,
        first_seen_at,
        {{ key_hash(['identifier_type', 'identifier_value']) }} as identifier_hash,
        row_number() over (
            order by {{ identity_identifier_key('identifier_type', 'identifier_value') }}
        ) as node_number
    from graph_identifiers
),

-- The stitching edges between the identifiers being labelled as pairs of node numbers,
-- once per pair however many sources link it (distinct on the numbers, cheaper than on
-- the identifiers' text), with each end's hash for the neighbour fingerprint.
numbered_edges as (
    select distinct
        own_node.node_number,
        own_node.identifier_hash,
        linked_node.node_number as linked_node_number,
        linked_node.identifier_hash as linked_identifier_hash
    from int_identity_edges
    inner join numbered_identifiers as own_node
        on int_identity_edges.identifier_type = own_node.identifier_type
            and int_identity_edges.identifier_value = own_node.identifier_value
    inner join numbered_identifiers as linked_node
        on int_identity_edges.linked_identifier_type = linked_node.identifier_type
            and int_identity_edges.linked_identifier_value = linked_node.identifier_value
    where not int_identity_edges.is_dropped
),

directed_edges as (
    select
        node_number,
        linked_node_number,
        linked_identifier_hash
    from numbered_edges

    union all

    select
        linked_node_number as node_number,
        node_number as linked_node_number,
        identifier_hash as linked_identifier_hash
    from numbered_edges
),

-- Whole components are labelled, so a node's edges here are all of its stitching edges:
-- its degree and neighbour fingerprint are those of the whole graph.
node_degrees as (
    select
        node_number,
        count(*) as degree,
        {{ set_fingerprint('linked_identifier_hash') }} as neighbour_fingerprint
    from directed_edges
    group by node_number
),

core_edges as (
    select
        directed_edges.node_number,
        directed_edges.linked_node_number
    from directed_edges
    inner join node_degrees as own_degree
        on directed_edges.node_number = own_degree.node_number
    inner join node_degrees as linked_degree
        on directed_edges.linked_node_number = linked_degree.node_number
    where own_degree.degree > 1
        and linked_degree.degree > 1
),

core_edges_with_self_loops as (
    select
        node_number,
        linked_node_number
    from core_edges

    union all

    select distinct
        node_number,
        node_number as linked_node_number
    from core_edges
),

labels_round_0 as (
    select
        node_number,
        min(linked_node_number) as label_number
    from core_edges_with_self_loops
    group by node_number
),

{% for round_number in range(1, rounds + 1) %}
    {%- set previous = 'labels_round_' ~ (round_number - 1) %}
    neighbour_labels_round_{{ round_number }} as (
        select
            core_edges_with_self_loops.node_number,
            min(
                case
                    when core_edges_with_self_loops.linked_node_number = core_edges_with_self_loops.node_number
                        then {{ previous }}.label_number
                end
            ) as previous_label,
            min({{ previous }}.label_number) as label_number
        from core_edges_with_self_loops
        inner join {{ previous }}
            on core_edges_with_self_loops.linked_node_number = {{ previous }}.node_number
        group by core_edges_with_self_loops.node_number
    ),

    hooks_round_{{ round_number }} as (
        select
            previous_label as node_number,
            min(label_number) as label_number
        from neighbour_labels_round_{{ round_number }}
        group by previous_label
    ),

    labels_round_{{ round_number }} as (
        select
            neighbour_labels_round_{{ round_number }}.node_number,
            least(
                neighbour_labels_round_{{ round_number }}.label_number,
                coalesce(own_hook.label_number, neighbour_labels_round_{{ round_number }}.label_number),
                label_owner.label_number,
                coalesce(owner_hook.label_number, label_owner.label_number)
            ) as label_number
        from neighbour_labels_round_{{ round_number }}
        inner join neighbour_labels_round_{{ round_number }} as label_owner
            on neighbour_labels_round_{{ round_number }}.label_number = label_owner.node_number
        left join hooks_round_{{ round_number }} as own_hook
            on neighbour_labels_round_{{ round_number }}.node_number = own_hook.node_number
        left join hooks_round_{{ round_number }} as owner_hook
            on neighbour_labels_round_{{ round_number }}.label_number = owner_hook.node_number
    ),

{% endfor %}

-- Each node with an edge, its base label, and its degree and neighbour fingerprint
-- carried along for the stored row.
core_base_labels as (
    select
        node_degrees.node_number,
        coalesce(labels_round_{{ rounds }}.label_number, node_degrees.node_number) as base_label,
        node_degrees.degree,
        node_degrees.neighbour_fingerprint
    from node_degrees
    left join labels_round_{{ rounds }}
        on node_degrees.node_number = labels_round_{{ rounds }}.node_number
    where node_degrees.degree > 1
),

leaf_base_labels as (
    select
        directed_edges.node_number,
        coalesce(
            core_base_labels.base_label,
            least(directed_edges.node_number, directed_edges.linked_node_number)
        ) as base_label,
        node_degrees.degree,
        node_degrees.neighbour_fingerprint
    from directed_edges
    inner join node_degrees
        on directed_edges.node_number = node_degrees.node_number
    left join core_base_labels
        on directed_edges.linked_node_number = core_base_labels.node_number
    where node_degrees.degree = 1
),

base_labels as (
    select * from core_base_labels
    union all
    select * from leaf_base_labels
),

component_numbers as (
    select
        base_label,
        min(node_number) as component_number
    from base_labels
    group by base_label
),

node_components as (
    select
        base_labels.node_number,
        component_numbers.component_number,
        base_labels.degree,
        base_labels.neighbour_fingerprint
    from base_labels
    inner join component_numbers
        on base_labels.base_label = component_numbers.base_label
),

labelled_identifiers as (
    select
        numbered_identifiers.identifier_type,
        numbered_identifiers.identifier_value,
        numbered_identifiers.first_seen_at,
        coalesce(node_components.degree, 0) as neighbour_count,
        coalesce(node_components.neighbour_fingerprint, 0) as neighbour_fingerprint,
        numbered_identifiers.node_number,
        coalesce(node_components.component_number, numbered_identifiers.node_number) as component_number
    from numbered_identifiers
    left join node_components
        on numbered_identifiers.node_number = node_components.node_number
),

representatives as (
    select
        component_number,
        identifier_type as representative_type,
        {{ dbt.concat(["'cus_'", representative_hash]) }} as customer_id
    from labelled_identifiers
    where node_number = component_number
),

labelled_customers as (
    select
        labelled_identifiers.identifier_type,
        labelled_identifiers.identifier_value,
        representatives.customer_id,
        labelled_identifiers.node_number = labelled_identifiers.component_number as is_representative,
        labelled_identifiers.first_seen_at,
        labelled_identifiers.neighbour_count,
        labelled_identifiers.neighbour_fingerprint
    from labelled_identifiers
    inner join representatives
        on labelled_identifiers.component_number = representatives.component_number
    where representatives.representative_type <> 'anonymous_id'
),

{% if is_incremental() %}

    -- One key-only row per stored customer relabelled, so a customer that no longer
    -- exists loses its rows.
    final as (
        select * from labelled_customers

        union all

        select
            cast(null as {{ dbt.type_string() }}) as identifier_type,
            cast(null as {{ dbt.type_string() }}) as identifier_value,
            customer_id,
            cast(null as {{ dbt.type_boolean() }}) as is_representative,
            cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
            cast(null as {{ dbt.type_bigint() }}) as neighbour_count,
            -- untyped: it takes the type set_fingerprint gives on this engine
            null as neighbour_fingerprint
        from changed_customers
    )

{% else %}

    final as (
        select * from labelled_customers
    )

{% endif %}

select * from final
