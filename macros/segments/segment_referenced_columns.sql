{#- The dim_customers columns a generated segment condition reads, lowercased, each once,
    in the order they first appear: every word of the condition outside string literals
    that is neither an SQL keyword nor a function name (a word followed by '('). The
    registry check (segment_registry_problems) has already proved every such word is a
    documented dim_customers column. -#}
{% macro segment_referenced_columns(condition_sql) %}
    {%- set keywords = ['and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'between', 'like', 'ilike'] -%}
    {%- set without_literals = modules.re.sub("'(?:[^']|'')*'", "''", condition_sql or '') -%}
    {%- set columns = [] -%}
    {%- for word, call in modules.re.findall('([A-Za-z_][A-Za-z0-9_]*)(\s*\()?', without_literals) -%}
        {%- set name = word | lower -%}
        {%- if not call and name not in keywords and name not in columns -%}
            {%- do columns.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
