{#- Fails when the newest value of a timestamp column is older than `interval` `datepart`s
    before the reference time (the as_of cutoff by default, so history rebuilds pass). -#}
{% test recency(model, field, datepart, interval, reference=none) %}
{%- set reference_time = reference if reference else as_of_cutoff() -%}
with

newest as (
    select max({{ field }}) as newest_value
    from {{ model }}
)

select newest_value
from newest
where newest_value is null
    or newest_value < {{ dbt.dateadd(datepart, -1 * interval, reference_time) }}
{% endtest %}
