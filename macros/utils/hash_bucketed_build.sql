{#- A full build that is too large for one window pass or one aggregation runs as one
    statement per hash bucket of its partition or grouping key: the model's own query
    keeps only the first bucket (`first_hash_bucket_only`), and its post-hook
    (`insert_remaining_hash_buckets`) reruns the same compiled query once for each further
    bucket and appends the rows. Each statement holds one bucket's window or aggregation
    state, so memory follows the bucket, not the history. (The engine runs the branches of
    a `union all` together and holds every branch's state at once.) The same pattern as
    insert_by_period in dbt's experimental features: a marker in the compiled query that
    the loop rewrites.
    Unit tests render one bucket, all rows: they run the query once and no post-hook. -#}

{% macro hash_bucket_count(buckets) -%}
    {{ return(1 if model.resource_type == 'unit_test' else buckets | int) }}
{%- endmacro %}

{% macro _hash_bucket_marker(bucket) -%}
    = {{ bucket }} /* hash bucket */
{%- endmacro %}

{% macro first_hash_bucket_only(value, buckets) -%}
    {{ hash_bucket(value, buckets) }} {{ _hash_bucket_marker(0) }}
{%- endmacro %}

{% macro insert_remaining_hash_buckets(buckets) -%}
    {%- set first_marker = _hash_bucket_marker(0) | trim -%}
    {%- if execute and buckets | int > 1 and first_marker in model.compiled_code -%}
        {%- for bucket in range(1, buckets | int) -%}
            {%- set bucket_query = model.compiled_code | replace(first_marker, _hash_bucket_marker(bucket) | trim) -%}
            {%- call statement('insert_hash_bucket_' ~ bucket) -%}
                insert into {{ this }}
                select * from (
                    {{ bucket_query }}
                ) as hash_bucket_rows
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
