{#- The SQL that publishes `relations` to the serving database (`destination`
    'serving') or to the restricted file ('restricted'), or '' when there is nothing to
    publish; `explicit` is true for `dbt run-operation publish_serving`. -#}
{% macro publish_serving_sql(relations, explicit, destination='serving') %}
    {{ return(adapter.dispatch('publish_serving_sql', 'dynamic_segments')(relations, explicit, destination)) }}
{% endmacro %}

{#- Adapters without a serving database of their own: analysts read the marts schema
    of the warehouse, so there is nothing to publish. -#}
{% macro default__publish_serving_sql(relations, explicit, destination='serving') %}
    {{ log('Serving database: nothing to publish on ' ~ target.type
           ~ ' (analysts read the ' ~ var('serving_schemas', ['marts']) | join(', ')
           ~ ' schema of the warehouse; grant the ' ~ var('restricted_schemas', []) | join(', ')
           ~ ' schema to activation only)', info=true) }}
    {{ return('') }}
{% endmacro %}

{#- DuckDB: copy the serving relations into a new database file beside the serving file,
    with the publish log, checkpoint and detach it, then rename it over the serving file
    (segments_serving_* are the file operations of scripts/serving_plugin.py). Readers of
    the old file keep reading it; nothing here waits for them. `explicit` (a
    run-operation) makes a serving relation that was never built an error; after a build
    it only skips the publish. The restricted file (`destination` 'restricted') is
    published the same way through the plugin's segments_restricted_* functions, which
    keep it owner-only (0600), with its own log, ops.restricted_publishes. -#}
{% macro duckdb__publish_serving_sql(relations, explicit, destination='serving') %}
    {%- set stage_db = 'segments_' ~ destination ~ '_stage' -%}
    {%- set functions = 'segments_' ~ destination -%}
    {%- set log_table = 'ops.' ~ destination ~ '_publishes' -%}
    {%- set new_publish = 'segments_' ~ destination ~ '_new_publish' -%}
    {%- set file_label = 'serving database' if destination == 'serving' else destination ~ ' file' -%}
    {%- set has_plugin = serving_fetch_value(
        "select count(*) from duckdb_functions() where function_name = '" ~ functions ~ "_path'") -%}
    {%- if has_plugin == 0 -%}
        {#- SQL that fails with one line (DuckDB's error()), for the hook to report. -#}
        {{ return('select error(' ~ serving_literal(
            'Publishing the serving database needs the serving_plugin dbt-duckdb plugin: add '
            ~ '`module_paths: [scripts]` and `plugins: [{module: serving_plugin}]` to the profile '
            ~ '(as profiles.yml does)') ~ ')') }}
    {%- endif -%}
    {#- Queried outside a transaction (not adapter.get_relation): the publish attaches and
        writes a second database, which a transaction that wrote the warehouse cannot. -#}
    {%- set response, existing = adapter.execute(
        'select table_catalog || \'.\' || table_schema || \'.\' || table_name
         from information_schema.tables', auto_begin=false, fetch=true) -%}
    {%- set existing = existing.columns[0].values() | list -%}
    {%- set missing = [] -%}
    {%- for relation in relations -%}
        {%- if relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier not in existing -%}
            {%- do missing.append(relation.schema ~ '.' ~ relation.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing or not relations -%}
        {%- set message = file_label | capitalize ~ ' not published: '
            ~ (missing | join(', ') ~ ' not built yet' if missing else 'no serving relations') -%}
        {%- if explicit -%}
            {{ return('select error(' ~ serving_literal(message) ~ ')') }}
        {%- endif -%}
        {{ log(message, info=true) }}
        {{ return('') }}
    {%- endif -%}

    {%- set serving_path = serving_fetch_value('select ' ~ functions ~ '_path()') -%}
    {%- set stage_path = serving_fetch_value(
        'select segments_serving_stage_path(' ~ serving_literal(serving_path) ~ ')') -%}
    {%- set files = serving_literal(stage_path) ~ ', ' ~ serving_literal(serving_path) -%}
    {%- set schemas = relations | map(attribute='schema') | unique | list -%}
    {%- set fingerprint = run_parameter('build_fingerprint') -%}
    {%- set build_number = run_parameter('build_number') -%}
    {%- set names = [] -%}
    {%- set counts = [] -%}
    {%- for relation in relations -%}
        {%- do names.append(serving_literal(relation.schema ~ '.' ~ relation.identifier)) -%}
        {%- do counts.append('(select count(*) from ' ~ stage_db ~ '.' ~ relation.schema ~ '.'
            ~ relation.identifier ~ ')') -%}
    {%- endfor -%}

    {#- Checks first: a problem with the serving path stops the publish before any copy. -#}
    {%- set statements = [
        'select case when problem <> \'\' then error(problem) end
         from (select ' ~ functions ~ '_prepare(' ~ files ~ ') as problem)',
        'create schema if not exists ops',
        'create table if not exists ' ~ log_table ~ ' (
            publish_number integer, published_at timestamp, build_id varchar,
            build_fingerprint varchar, scheduled_build_number integer, as_of date,
            dbt_command varchar, table_count integer, row_counts map(varchar, bigint))',
        'attach ' ~ serving_literal(stage_path) ~ ' as ' ~ stage_db,
    ] -%}
    {%- for schema in schemas -%}
        {%- do statements.append('create schema ' ~ stage_db ~ '.' ~ schema) -%}
    {%- endfor -%}
    {%- for relation in relations -%}
        {%- do statements.append('create table ' ~ stage_db ~ '.' ~ relation.schema ~ '.'
            ~ relation.identifier ~ ' as select * from ' ~ relation) -%}
    {%- endfor -%}
    {#- The warehouse's table and column descriptions (persist_docs), carried over to the
        copies. -#}
    {%- for relation in relations -%}
        {%- set copy = stage_db ~ '.' ~ relation.schema ~ '.' ~ relation.identifier -%}
        {%- set in_relation = 'database_name = ' ~ serving_literal(relation.database)
            ~ ' and schema_name = ' ~ serving_literal(relation.schema)
            ~ ' and table_name = ' ~ serving_literal(relation.identifier) ~ ' and comment is not null' -%}
        {%- set response, tables = adapter.execute(
            'select comment from duckdb_tables() where ' ~ in_relation, auto_begin=false, fetch=true) -%}
        {%- for row in tables.rows -%}
            {%- do statements.append('comment on table ' ~ copy ~ ' is ' ~ serving_literal(row[0])) -%}
        {%- endfor -%}
        {%- set response, columns = adapter.execute(
            'select column_name, comment from duckdb_columns() where ' ~ in_relation, auto_begin=false, fetch=true) -%}
        {%- for row in columns.rows -%}
            {%- do statements.append('comment on column ' ~ copy ~ '."' ~ row[0] | replace('"', '""')
                ~ '" is ' ~ serving_literal(row[1])) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- do statements.append(
        'create or replace temp table ' ~ new_publish ~ ' as select
            coalesce((select max(publish_number) from ' ~ log_table ~ '), 0) + 1 as publish_number,
            cast(timezone(\'UTC\', now()) as timestamp) as published_at,
            ' ~ serving_literal(invocation_id) ~ ' as build_id,
            cast(' ~ (serving_literal(fingerprint) if fingerprint else 'null') ~ ' as varchar) as build_fingerprint,
            cast(' ~ (build_number | int if build_number else 'null') ~ ' as integer) as scheduled_build_number,
            ' ~ as_of_date() ~ ' as as_of,
            ' ~ serving_literal(invocation_args_dict.get('which')) ~ ' as dbt_command,
            ' ~ relations | length ~ ' as table_count,
            map([' ~ names | join(', ') ~ '], [' ~ counts | join(', ') ~ ']) as row_counts') -%}
    {%- do statements.append('create table ' ~ stage_db ~ '.main.publish_log as
        select * from ' ~ log_table ~ ' union all select * from ' ~ new_publish ~ '
        order by publish_number') -%}
    {%- do statements.append('comment on table ' ~ stage_db ~ '.main.publish_log is '
        ~ serving_literal('One row per publish of this ' ~ file_label ~ ': when (published_at, UTC), '
        ~ 'from which build (build_id: the dbt invocation; build_fingerprint and '
        ~ 'scheduled_build_number: the scheduled build), its as_of day, and the row count of '
        ~ 'each published table (row_counts).')) -%}
    {%- do statements.append('checkpoint ' ~ stage_db) -%}
    {%- do statements.append('detach ' ~ stage_db) -%}
    {%- do statements.append('select case when problem <> \'\' then error(problem) end
         from (select ' ~ functions ~ '_replace(' ~ files ~ ') as problem)') -%}
    {%- do statements.append('insert into ' ~ log_table ~ ' select * from ' ~ new_publish) -%}
    {%- do statements.append('drop table ' ~ new_publish) -%}
    {{ log('Publishing ' ~ relations | length ~ ' tables to the ' ~ file_label ~ ' ' ~ serving_path, info=true) }}
    {{ return(statements | join(';\n') ~ ';') }}
{% endmacro %}
