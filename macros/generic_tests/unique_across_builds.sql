{#- Like `unique`, for an incremental model whose rows carry the build that wrote them:
    fails for every value of the column that occurs more than once. With a last checked
    build (built_since_last_check) only the values of rows built after it are looked up,
    against every row of the table, since a duplicate pair of older rows was found by an
    earlier build. -#}
{% test unique_across_builds(model, column_name, built_at_column='built_at') %}
{{ test_unique_combination_of_columns(model, [column_name], built_at_column) }}
{% endtest %}
