{#-
    One row per identifier that belongs to a customer, with the customer's stable id.
    A customer is a connected component of the identity graph (stitching edges only, no
    blocked identifier) that holds at least one person-level identifier; a device seen
    only anonymously is not a customer.

    Components are found by min-label propagation over node keys ordered by type
    precedence (contact_id, shop_customer_id, email, anonymous_id) then value, unrolled into
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

    Incremental runs label only the identifiers of int_identifiers_relabelled_this_run
    (every unblocked identifier on a full run): changed identifiers and whole stored
    customers of them, so whole components. The replace_keys strategy replaces those
    customers' rows (a key-only row per stored customer clears one that no longer
    exists). Moving as_of back needs --full-refresh, as for every incremental model.
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

{%- set rounds = var('identity_label_propagation_rounds', 5) | int %}
{%- set representative_hash = dbt.hash(dbt.concat(['identifier_type', "':'", 'identifier_value'])) %}
with

int_identifiers_relabelled_this_run as (
    select * from {{ ref('int_identifiers_relabelled_this_run') }}
),

int_identity_edges as (
    select * from {{ ref('int_identity_edges') }}
),

graph_identifiers as (
    select
        identifier_type,
        identifier_value,
        first_seen_at
    from int_identifiers_relabelled_this_run
    where is_current
),

numbered_identifiers as (
    select
        identifier_type,
        identifier_value,
        first_seen_at,
        {{ key_hash(['identifier_type', 'identifier_value']) }} as identifier_hash,
        -- key order: type precedence (contact_id, shop_customer_id, email, anonymous_id),
        -- then value; the smallest key of a component is its representative
        row_number() over (
            order by
                case identifier_type
                    when 'contact_id' then 1
                    when 'shop_customer_id' then 2
                    when 'email' then 3
                    else 4
                end,
                identifier_value
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
    relabelled_customers as (
        select distinct stored_customer_id as customer_id
        from int_identifiers_relabelled_this_run
        where stored_customer_id is not null
    ),

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
        from relabelled_customers
    )

{% else %}

    final as (
        select * from labelled_customers
    )

{% endif %}

select * from final
