{#- The holdout bucket, 0 to 9999, of a customer in an audience: the first 7 hex digits of
    md5('<audience_key>|<customer_id>') read as a number, modulo 10000. Deterministic and
    the same on every warehouse (and in Python: int(md5(text).hexdigest()[:7], 16) % 10000),
    so a customer stays in or out of an audience's holdout from run to run, and different
    audiences hold out different customers. Dispatched: reading hex differs by warehouse. -#}
{% macro holdout_bucket(audience_key, customer_id) -%}
    {{ return(adapter.dispatch('holdout_bucket', 'dynamic_segments')(audience_key, customer_id)) }}
{%- endmacro %}

{% macro default__holdout_bucket(audience_key, customer_id) -%}
    mod(
        cast(('x' || lpad(substring({{ dbt.hash(dbt.concat([audience_key, "'|'", customer_id])) }}, 1, 7), 8, '0'))::bit(32) as bigint),
        10000
    )
{%- endmacro %}

{% macro duckdb__holdout_bucket(audience_key, customer_id) -%}
    mod(
        cast(('0x' || substring({{ dbt.hash(dbt.concat([audience_key, "'|'", customer_id])) }}, 1, 7)) as bigint),
        10000
    )
{%- endmacro %}
