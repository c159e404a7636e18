{#- Fails with one row per value of a customer id column that is not a customer of
    int_identifiers_resolved_to_customers (nulls pass): `relationships` to the resolved
    customers, for incremental models.

    With `built_at_column` and a last checked build (built_since_last_check) it reads the
    rows built after that build, and the rows of every customer that an identifier left
    since (`previous_customer_id` of int_identifier_customer_changes): a customer leaves
    the resolved table only when its identifiers move away or stop resolving, and each
    such move is recorded there by the build that made it. Every other row was checked
    against customers that still exist. -#}
{% test is_resolved_customer(model, column_name, built_at_column=none) %}
{%- set unchecked = built_since_last_check(built_at_column) if built_at_column else none -%}
{#- Outside the condition: the mark is read only while executing (run_parameter), so dbt
    must see this dependency when it parses the test without one. -#}
{%- set identifier_changes = ref('int_identifier_customer_changes') -%}
with

rows_to_check as (
    select {{ column_name }} as customer_id
    from {{ model }}
    where {{ column_name }} is not null
    {%- if unchecked %}
        and (
            {{ unchecked }}
            or {{ column_name }} in (
                select previous_customer_id
                from {{ identifier_changes }}
                where {{ built_since_last_check('changed_at') }}
            )
        )
    {%- endif %}
)

-- An anti join: each row is looked up once, however many identifiers its customer has.
select rows_to_check.customer_id
from rows_to_check
where not exists (
    select 1
    from {{ ref('int_identifiers_resolved_to_customers') }} as resolved
    where resolved.customer_id = rows_to_check.customer_id
)
{% endtest %}
