{#- Publish the serving database after a build whose nodes and data tests all passed.
    The on-run-end hook passes dbt's `results` and gets back the SQL that publishes (dbt
    runs it and reports a failure as the hook's error); `dbt run-operation
    publish_serving` passes none and publishes what the warehouse holds, as
    scripts/scheduled_build.py does when the serving file is missing or older than the
    warehouse's last successful build. See docs/serving.md. -#}
{% macro publish_serving(results=none) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {#- The relations analysts and activation read: every model built in a schema of the
        var serving_schemas (the marts, reports included), in a stable order; and those of
        the var restricted_schemas (direct identifiers), which go to the restricted file
        only and may never be listed as serving schemas. -#}
    {%- set serving_schemas = var('serving_schemas', ['marts']) -%}
    {%- set restricted_schemas = var('restricted_schemas', []) -%}
    {%- for schema in serving_schemas if schema in restricted_schemas -%}
        {{ exceptions.raise_compiler_error("Schema " ~ schema ~ " is in both vars serving_schemas and "
            ~ "restricted_schemas: restricted data never goes to the serving file analysts read") }}
    {%- endfor -%}
    {%- set schemas = serving_schemas + restricted_schemas -%}
    {%- set relations = [] -%}
    {%- set restricted_relations = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- if node.resource_type == 'model' and node.config.enabled
            and node.config.materialized != 'ephemeral' and node.schema in schemas -%}
            {%- do (restricted_relations if node.schema in restricted_schemas else relations).append(
                api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if results is not none -%}
        {#- Why the run's results may not be published (empty when they may): only a `dbt
            build` that ran its data tests, built a serving model, and in which every node
            passed. -#}
        {%- set arguments = invocation_args_dict -%}
        {%- set command = arguments.get('which') -%}
        {%- set excluded = arguments.get('exclude_resource_types') or [] -%}
        {%- set included = arguments.get('resource_types') or [] -%}
        {%- set blocker = '' -%}
        {%- if command != 'build' -%}
            {%- set blocker = 'only `dbt build` publishes (it runs the data tests); this was `dbt ' ~ command ~ '`' -%}
        {%- elif arguments.get('empty') or arguments.get('sample') -%}
            {%- set blocker = 'an --empty or --sample build holds no complete data' -%}
        {%- elif 'test' in excluded or (included and 'test' not in included) -%}
            {%- set blocker = 'the data tests were excluded' -%}
        {%- else -%}
            {%- set not_passed = [] -%}
            {%- set serving_built = [] -%}
            {%- for result in results -%}
                {%- if result.status not in ('success', 'pass', 'warn', 'no-op') -%}
                    {%- do not_passed.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
                {%- elif result.node.resource_type == 'model' and result.node.schema in schemas -%}
                    {%- do serving_built.append(result.node.name) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if not_passed -%}
                {%- set blocker = not_passed | length ~ ' node(s) did not pass, first ' ~ not_passed[0]
                    ~ '; analysts keep the last published data' -%}
            {%- elif not serving_built -%}
                {%- set blocker = 'this build built no model of the serving schemas' -%}
            {%- endif -%}
        {%- endif -%}
        {%- if blocker -%}
            {{ log('Serving database not published: ' ~ blocker, info=true) }}
            {{ return('') }}
        {%- endif -%}
    {%- endif -%}
    {%- set sql = publish_serving_sql(relations, results is none) -%}
    {%- if restricted_relations -%}
        {%- set restricted_sql = publish_serving_sql(restricted_relations, results is none, 'restricted') -%}
        {%- set sql = [sql, restricted_sql] | select('ne', '') | map('trim') | join('\n') -%}
    {%- endif -%}
    {%- if results is none and sql | trim -%}
        {%- do adapter.execute(sql, auto_begin=false, fetch=false) -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(sql) }}
{% endmacro %}
