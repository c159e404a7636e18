{#- The columns a segment rule may read: the documented columns of dim_customers (its
    contract, docs/customer_profile_contract.md), as a mapping name -> data type. None when
    the project graph is not available (unit tests); the registry validator then reads the
    same columns from the project files. -#}
{% macro segment_rule_columns() %}
    {%- if not execute or not graph.get('nodes') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.dim_customers') -%}
    {%- if node is none or not node.columns -%}
        {{ exceptions.raise_compiler_error("Segment registry: dim_customers has no documented columns, so segment rules cannot be checked.") }}
    {%- endif -%}
    {%- set columns = {} -%}
    {%- for column_name, column in node.columns.items() -%}
        {%- do columns.update({column_name | lower: (column.data_type or '') | lower}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
