{#- The relations analysts and activation read: every model built in a schema of the
    var serving_schemas (the marts, reports included), in a stable order. -#}
{% macro serving_relations() %}
    {%- set schemas = var('serving_schemas', ['marts']) -%}
    {%- set relations = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- if node.resource_type == 'model' and node.config.enabled
            and node.config.materialized != 'ephemeral' and node.schema in schemas -%}
            {%- do relations.append(api.Relation.create(
                database=node.database, schema=node.schema, identifier=node.alias)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{% endmacro %}
