{#- Aggregate: true when the group has at least `n` rows where `row_filter` holds and
    `condition` is true on the latest `n` of them, ordered by the `order_by` expressions
    descending (the first decides, the next break ties; together they must be unique in
    the group). One streaming aggregate instead of ranking every row with a window.
    Dispatched: DuckDB's `max_by(value, key, n)`, Postgres' ordered `array_agg` sliced to
    `n`, Spark's sorted `collect_list`; other adapters need an implementation. -#}
{% macro latest_n_all_true(condition, order_by, n, row_filter='true') -%}
    {{ return(adapter.dispatch('latest_n_all_true', 'dynamic_segments')(condition, order_by, n, row_filter)) }}
{%- endmacro %}

{% macro default__latest_n_all_true(condition, order_by, n, row_filter) -%}
    {{ exceptions.raise_compiler_error(
        "latest_n_all_true has no implementation for the " ~ adapter.type() ~ " adapter: add "
        ~ adapter.type() ~ "__latest_n_all_true to macros/cross_db/latest_n_all_true.sql"
    ) }}
{%- endmacro %}

{% macro duckdb__latest_n_all_true(condition, order_by, n, row_filter) -%}
    {%- set latest = "max_by(" ~ condition ~ ", row(" ~ order_by | join(", ") ~ "), " ~ n ~ ") filter (where " ~ row_filter ~ ")" -%}
    coalesce(len({{ latest }}) = {{ n }} and list_bool_and({{ latest }}), false)
{%- endmacro %}

{% macro postgres__latest_n_all_true(condition, order_by, n, row_filter) -%}
    {%- set latest = "(array_agg(" ~ condition ~ " order by " ~ order_by | join(" desc, ") ~ " desc) filter (where " ~ row_filter ~ "))[1:" ~ n ~ "]" -%}
    coalesce(cardinality({{ latest }}) = {{ n }} and false <> all({{ latest }}), false)
{%- endmacro %}

{% macro spark__latest_n_all_true(condition, order_by, n, row_filter) -%}
    {%- set keys = [] -%}
    {%- for expression in order_by -%}
        {%- do keys.append("'k" ~ loop.index ~ "', " ~ expression) -%}
    {%- endfor -%}
    {%- set latest = "slice(sort_array(collect_list(named_struct(" ~ keys | join(", ") ~ ", 'v', " ~ condition ~ ")) filter (where " ~ row_filter ~ "), false), 1, " ~ n ~ ")" -%}
    coalesce(size({{ latest }}) = {{ n }} and forall({{ latest }}, x -> x.v), false)
{%- endmacro %}
