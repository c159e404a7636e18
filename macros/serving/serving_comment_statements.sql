{#- COMMENT statements that carry the warehouse's table and column descriptions
    (persist_docs) over to the copies in the stage database. -#}
{% macro serving_comment_statements(relations, stage_db) %}
    {%- set statements = [] -%}
    {%- for relation in relations -%}
        {%- set copy = stage_db ~ '.' ~ relation.schema ~ '.' ~ relation.identifier -%}
        {%- set response, tables = adapter.execute(
            'select comment from duckdb_tables() where database_name = ' ~ serving_literal(relation.database)
            ~ ' and schema_name = ' ~ serving_literal(relation.schema)
            ~ ' and table_name = ' ~ serving_literal(relation.identifier) ~ ' and comment is not null',
            auto_begin=false, fetch=true) -%}
        {%- for row in tables.rows -%}
            {%- do statements.append('comment on table ' ~ copy ~ ' is ' ~ serving_literal(row[0])) -%}
        {%- endfor -%}
        {%- set response, columns = adapter.execute(
            'select column_name, comment from duckdb_columns() where database_name = '
            ~ serving_literal(relation.database) ~ ' and schema_name = ' ~ serving_literal(relation.schema)
            ~ ' and table_name = ' ~ serving_literal(relation.identifier) ~ ' and comment is not null',
            auto_begin=false, fetch=true) -%}
        {%- for row in columns.rows -%}
            {%- do statements.append('comment on column ' ~ copy ~ '."' ~ row[0] | replace('"', '""')
                ~ '" is ' ~ serving_literal(row[1])) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}
