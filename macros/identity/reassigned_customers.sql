{#- A select of customer_id: the previous and the new customers of the moves in the CTE
    `unapplied_identity_changes` (see the macro of that name). Both must be recomputed
    from all of their history. -#}
{% macro reassigned_customers() -%}
    select unapplied_identity_changes.customer_id
    from unapplied_identity_changes
    where unapplied_identity_changes.customer_id is not null

    union

    select unapplied_identity_changes.previous_customer_id as customer_id
    from unapplied_identity_changes
    where unapplied_identity_changes.previous_customer_id is not null
{%- endmacro %}
