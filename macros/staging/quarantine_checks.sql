{#- Building blocks for a base model's `quarantine_reason` case expression. Each returns
    `when ... then '<reason>'` clauses; the first matching clause names the reason.
    Base models keep the landed text as `<column>_raw`; reasons name the landed column. -#}

{% macro _quarantine_label(raw_column) -%}
    {{ return(raw_column[:-4] if raw_column.endswith('_raw') else raw_column) }}
{%- endmacro %}

{#- The value is missing (null or blank). -#}
{% macro quarantine_when_missing(raw_column) -%}
    when nullif(trim({{ raw_column }}), '') is null then 'missing_{{ _quarantine_label(raw_column) }}'
{%- endmacro %}

{#- The value is present but could not be read as its type. -#}
{% macro quarantine_when_unparseable(raw_column, parsed_column) -%}
    when nullif(trim({{ raw_column }}), '') is not null and {{ parsed_column }} is null
        then 'unparseable_{{ _quarantine_label(raw_column) }}'
{%- endmacro %}

{#- A value outside the accepted set (compared after lower-casing and trimming). -#}
{% macro quarantine_when_not_in(raw_column, accepted_values) -%}
    when lower(trim({{ raw_column }})) not in ('{{ accepted_values | join("', '") }}')
        then 'unknown_{{ _quarantine_label(raw_column) }}'
{%- endmacro %}

{#- A present email address that does not look like one. -#}
{% macro quarantine_when_invalid_email(raw_column) -%}
    when nullif(trim({{ raw_column }}), '') is not null
        and not {{ matches_pattern(normalize_email(raw_column), "[^@\\s]+@[^@\\s]+\\.[^@\\s]+") }}
        then 'invalid_{{ _quarantine_label(raw_column) }}'
{%- endmacro %}
