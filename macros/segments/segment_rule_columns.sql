{#- The columns a rule may read: the documented columns of dim_customers (its contract,
    docs/customer_profile_contract.md), name -> data type. None when the project graph
    is not available (unit tests); the validator then reads the same columns from the
    project files. -#}
{% macro segment_rule_columns() %}
    {%- set rule_columns = none -%}
    {%- if graph.get('nodes') -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.dim_customers') -%}
        {%- if node is none or not node.columns -%}
            {{ exceptions.raise_compiler_error("Segment registry: dim_customers has no documented columns, so segment rules cannot be checked.") }}
        {%- endif -%}
        {%- set rule_columns = {} -%}
        {%- for column_name, column in node.columns.items() -%}
            {%- do rule_columns.update({column_name | lower: (column.data_type or '') | lower}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(rule_columns) }}
{% endmacro %}
