{#- Rows of an incremental model carry the start of the build that wrote them (`built_at`,
    see build_started_at). The var `last_checked_build_at` is when the last whole-project
    build whose data tests all passed ended, passed by scripts/scheduled_build.py. Every
    row built after it is unchecked: this run's rows, and those of any build in between
    that failed or did not test (a selection, a `dbt run`). Every row built before it was
    checked by that build or an earlier one, and has not changed since.

    built_since_last_check(column) is the predicate that keeps the unchecked rows; none
    without the var (a plain `dbt build` checks every row). -#}
{% macro built_since_last_check(built_at_column='built_at') %}
    {{ return(later_than_timestamp(built_at_column, timestamp_var('last_checked_build_at'))) }}
{% endmacro %}
