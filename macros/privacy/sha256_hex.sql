{#- The SHA-256 digest of a text as 64 lower-case hex characters (null stays null): the
    form ad platforms take hashed identifiers in. Dispatched: DuckDB's `sha256`, Spark's
    `sha2(x, 256)`, and elsewhere Postgres' `encode(sha256(convert_to(x, 'UTF8')), 'hex')`. -#}
{% macro sha256_hex(value) -%}
    {{ return(adapter.dispatch('sha256_hex', 'dynamic_segments')(value)) }}
{%- endmacro %}

{% macro default__sha256_hex(value) -%}
    encode(sha256(convert_to({{ value }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro duckdb__sha256_hex(value) -%}
    sha256({{ value }})
{%- endmacro %}

{% macro spark__sha256_hex(value) -%}
    sha2({{ value }}, 256)
{%- endmacro %}
