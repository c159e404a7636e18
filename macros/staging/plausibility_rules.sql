{#- The plausibility rules a source declares for one of its columns: the `meta` of the
    macro `<source>_plausibility_rules`, declared in `_<source>__sources.yml` by table and
    column (documented in the `plausibility` docs block). Every typed column of every
    source declares them, so bounds live in one place per source and never as literals in
    a model; a column without rules, an unknown kind or a numeric bound too close to the
    limit of its type is a compile error. At parse time an `unchecked` rule set is
    returned; the models' SQL is rendered again with the real rules before it runs. -#}
{% macro plausibility_rules(source_name, table_name, column_name) -%}
    {%- if not execute -%}
        {{ return({'kind': 'unchecked', 'data_type': dbt.type_string()}) }}
    {%- endif -%}
    {%- set declared = context.get(source_name ~ '_plausibility_rules') -%}
    {%- if declared is none -%}
        {{ exceptions.raise_compiler_error(
            "plausibility_rules: source " ~ source_name ~ " declares no macro "
            ~ source_name ~ "_plausibility_rules (see macros/staging/source_plausibility_rules.sql)") }}
    {%- endif -%}
    {%- set rules = ((declared() or {}).get(table_name) or {}).get(column_name) -%}
    {%- if rules is none -%}
        {{ exceptions.raise_compiler_error(
            "Column " ~ column_name ~ " of source " ~ source_name ~ "." ~ table_name
            ~ " declares no plausibility rules: add them to the meta of "
            ~ source_name ~ "_plausibility_rules in _" ~ source_name ~ "__sources.yml") }}
    {%- endif -%}
    {%- set kinds = ['number', 'timestamp', 'birth_date', 'email', 'phone'] -%}
    {%- if rules.get('kind') not in kinds -%}
        {{ exceptions.raise_compiler_error(
            "Column " ~ column_name ~ " of source " ~ source_name ~ "." ~ table_name
            ~ ": kind must be one of " ~ kinds | join(', ') ~ ", got " ~ rules.get('kind')) }}
    {%- endif -%}
    {%- if rules.kind == 'number' -%}
        {%- for required in ['data_type', 'min', 'max'] if rules.get(required) is none -%}
            {{ exceptions.raise_compiler_error(
                "Column " ~ column_name ~ " of source " ~ source_name ~ "." ~ table_name
                ~ ": a number declares its " ~ required) }}
        {%- endfor -%}
        {#- Digits before the decimal point the type holds: p - s of decimal(p, s), 18 for
            bigint (its limit is about 9.2e18), 9 for integer. -#}
        {%- set type_text = rules.data_type | lower | replace(' ', '') -%}
        {%- set decimal_match = modules.re.match('^(decimal|numeric)\\((\\d+),(\\d+)\\)$', type_text) -%}
        {%- if decimal_match -%}
            {%- set integer_digits = decimal_match.group(2) | int - decimal_match.group(3) | int -%}
        {%- elif type_text in ['bigint', 'int8', 'long'] -%}
            {%- set integer_digits = 18 -%}
        {%- elif type_text in ['integer', 'int', 'int4'] -%}
            {%- set integer_digits = 9 -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("plausibility rules: unsupported numeric type " ~ rules.data_type) }}
        {%- endif -%}
        {%- set largest = [rules.min | abs, rules.max | abs] | max -%}
        {#- Sums and products of plausible values (line amounts, conversions, lifetime
            revenue) must still fit the type: the bounds keep six digits of headroom. -#}
        {%- if largest * 1000000 >= 10 ** integer_digits -%}
            {{ exceptions.raise_compiler_error(
                "Column " ~ column_name ~ " of source " ~ source_name ~ "." ~ table_name
                ~ ": plausible bounds up to " ~ largest ~ " leave less than six digits of headroom below the limit of "
                ~ rules.data_type ~ " (10^" ~ integer_digits ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(rules) }}
{%- endmacro %}
