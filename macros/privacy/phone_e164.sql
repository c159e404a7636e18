{#- A staged phone number in E.164 form: '+', the country calling code, then the national
    number without its leading trunk 0, digits only ('+4915123456789'). A number typed with
    '+' or '00' already carries its calling code; any other number is national and takes
    `calling_code` (the contact's country's, from seeds/country_calling_codes.csv). Null
    when the phone is null or blank, or national with no calling code known. The
    separators staging accepts in a phone (space, brackets, dot, hyphen) are removed with
    `replace`, which every warehouse has. -#}
{% macro phone_e164(phone, calling_code) -%}
    {%- set trimmed = 'trim(' ~ phone ~ ')' -%}
    {%- set digits -%}
        replace(replace(replace(replace(replace(replace({{ trimmed }}, ' ', ''), '(', ''), ')', ''), '.', ''), '-', ''), '+', '')
    {%- endset -%}
    case
        when {{ phone }} is null or {{ digits }} = '' then null
        when {{ trimmed }} like '+%' then {{ dbt.concat(["'+'", digits]) }}
        when {{ digits }} like '00%'
            then {{ dbt.concat(["'+'", dbt.right(digits, dbt.length(digits) ~ ' - 2')]) }}
        when {{ calling_code }} is null then null
        when {{ digits }} like '0%'
            then {{ dbt.concat(["'+'", calling_code, dbt.right(digits, dbt.length(digits) ~ ' - 1')]) }}
        else {{ dbt.concat(["'+'", calling_code, digits]) }}
    end
{%- endmacro %}
