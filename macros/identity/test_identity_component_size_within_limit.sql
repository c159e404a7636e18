{#- Fails with one row per customer whose connected identity component holds more than
    `max_size` identifiers: a sign that some identifier bridges people it should not. -#}
{% test identity_component_size_within_limit(model, column_name, max_size) %}
select
    {{ column_name }},
    count(*) as identifier_count
from {{ model }}
group by {{ column_name }}
having count(*) > {{ max_size }}
{% endtest %}
