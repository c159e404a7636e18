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
    {%- set relations = serving_relations() -%}
    {%- if results is not none -%}
        {%- set blocker = serving_publish_blocker(results) -%}
        {%- if blocker -%}
            {{ log('Serving database not published: ' ~ blocker, info=true) }}
            {{ return('') }}
        {%- endif -%}
    {%- endif -%}
    {%- set sql = publish_serving_sql(relations, results is none) -%}
    {%- if results is none and sql | trim -%}
        {%- do adapter.execute(sql, auto_begin=false, fetch=false) -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(sql) }}
{% endmacro %}
