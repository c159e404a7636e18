{#- The table int_identifiers_resolved_to_customers left in its previous run, for the model
    that works out what this run relabels (it cannot ref() that table: a cycle), or none
    when this run labels every identifier: the table does not exist yet, is not a table,
    the run is a full refresh of it, or the model is no longer incremental. These are the
    conditions of is_incremental() in that model, read from its node in the graph
    (database, schema, alias, config), so both agree in every run. Raises when the table
    predates the fingerprints. Unit tests override it with the stored rows as a subquery.
-#}
{% macro identity_stored_resolution() %}
    {%- if not execute %}
        {{ return(none) }}
    {%- endif %}
    {%- set resolved = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('package_name', 'equalto', project_name)
        | selectattr('name', 'equalto', 'int_identifiers_resolved_to_customers')
        | first %}
    {%- set relation = adapter.get_relation(
        database=resolved.database, schema=resolved.schema, identifier=resolved.alias
    ) %}
    {%- set full_refresh = resolved.config.full_refresh
        if resolved.config.full_refresh is not none else flags.FULL_REFRESH %}
    {%- if relation is none or not relation.is_table or full_refresh
        or resolved.config.materialized != 'incremental' %}
        {{ return(none) }}
    {%- endif %}
    {#- A table built before identity resolution was incremental has no fingerprints. -#}
    {%- set stored_columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list %}
    {%- if 'neighbour_fingerprint' not in stored_columns %}
        {{ exceptions.raise_compiler_error(
            relation ~ " was built before identity resolution became incremental and has no"
            ~ " neighbour_count or neighbour_fingerprint to compare with. Run once:"
            ~ " dbt run --full-refresh --select int_identifiers_resolved_to_customers"
        ) }}
    {%- endif %}
    {{ return(relation) }}
{% endmacro %}
