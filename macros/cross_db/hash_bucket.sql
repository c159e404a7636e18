{#- The bucket, 0 to `buckets` - 1, of a text value by a hash of it: splits rows into
    roughly equal parts that always put equal values together. Dispatched: DuckDB's
    `hash`, Spark's `hash`, Postgres' `hashtext`; elsewhere the first hex digit of the
    value's md5, which spreads over at most 16 buckets. -#}
{% macro hash_bucket(value, buckets) -%}
    {{ return(adapter.dispatch('hash_bucket', 'dynamic_segments')(value, buckets)) }}
{%- endmacro %}

{% macro default__hash_bucket(value, buckets) -%}
    mod(ascii(substring({{ dbt.hash(value) }}, 1, 1)), {{ buckets }})
{%- endmacro %}

{% macro duckdb__hash_bucket(value, buckets) -%}
    hash({{ value }}) % {{ buckets }}
{%- endmacro %}

{% macro postgres__hash_bucket(value, buckets) -%}
    mod(abs(cast(hashtext({{ value }}) as bigint)), {{ buckets }})
{%- endmacro %}

{% macro spark__hash_bucket(value, buckets) -%}
    pmod(hash({{ value }}), {{ buckets }})
{%- endmacro %}
