{#- For customer-level incremental models that follow identity changes. Such a model stamps
    its rows with built_at (build_started_at()); the rows of `int_identifier_customer_changes`
    for the given identifier types recorded after `built_through`, the model's
    `max(built_at)` read by `high_water_marks`, are the moves the model has not applied
    yet. The model keeps them as the CTE `unapplied_identity_changes`, which
    `reassigned_customers` reads. -#}
{% macro unapplied_identity_changes(identifier_types, built_through) -%}
    select
        reassigned.identifier_type,
        reassigned.identifier_value,
        reassigned.customer_id,
        reassigned.previous_customer_id
    from {{ ref('int_identifier_customer_changes') }} as reassigned
    where reassigned.changed_at > {{ built_through }}
        and reassigned.identifier_type in ({{ "'" ~ identifier_types | join("', '") ~ "'" }})
{%- endmacro %}
