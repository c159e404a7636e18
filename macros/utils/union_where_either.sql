{#- The rows of the calling block's select that satisfy `condition` or `other_condition`
    (both over the select's output columns), as a `union all` of two selects: the rows
    `condition` admits, and the rows `other_condition` admits that `condition` does not
    (null counts as not admitted, as in `or`).
    Each branch filters on one column against a literal, which the engine pushes into the
    scan and prunes by row group (DuckDB's zone maps); an `or` across two columns is
    evaluated on every row, so an incremental run read every event of the history to
    find one day's.
    With no conditions (none), the block as it is: all its rows, for a full build. -#}
{% macro union_where_either(condition, other_condition) -%}
    {%- if condition is none -%}
    {{ caller() }}
    {%- else -%}
    select *
    from (
        {{ caller() }}
    ) as rows_admitted
    where {{ condition }}

    union all

    select *
    from (
        {{ caller() }}
    ) as rows_admitted_otherwise
    where {{ other_condition }}
        and not coalesce({{ condition }}, false)
    {%- endif -%}
{%- endmacro %}
