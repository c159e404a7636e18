{#- An aggregate fingerprint of a group's set of distinct values, given the integer hash
    of each value (key_hash): the bitwise xor of the hashes, so it does not depend on row
    order and any added, removed or replaced value changes it (up to a 64-bit hash
    collision). The rows aggregated must be distinct: a value counted twice cancels out.
    Needs key_hash to give an integer (DuckDB, Postgres, Spark). Dispatched, for an engine
    whose xor aggregate has another name (Snowflake's `bitxor_agg`); DuckDB, Postgres 14+,
    Spark 3+ and BigQuery all call it `bit_xor`. -#}
{% macro set_fingerprint(hash_expression) -%}
    {{ return(adapter.dispatch('set_fingerprint', 'dynamic_segments')(hash_expression)) }}
{%- endmacro %}

{% macro default__set_fingerprint(hash_expression) -%}
    bit_xor({{ hash_expression }})
{%- endmacro %}
