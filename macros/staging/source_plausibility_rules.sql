{#- One macro per source whose `meta`, declared beside the source in
    `models/staging/<source>/_<source>__sources.yml`, holds the plausibility rules of the
    source's typed columns by table and column. `plausibility_rules` reads that meta; a
    macro's own properties are there wherever macros run, unit tests included, where the
    project graph (and so a source column's meta) is empty. -#}
{% macro crm_plausibility_rules() %}{{ return(crm_plausibility_rules.macro.meta) }}{% endmacro %}

{% macro web_plausibility_rules() %}{{ return(web_plausibility_rules.macro.meta) }}{% endmacro %}

{% macro shop_plausibility_rules() %}{{ return(shop_plausibility_rules.macro.meta) }}{% endmacro %}

{% macro email_plausibility_rules() %}{{ return(email_plausibility_rules.macro.meta) }}{% endmacro %}

{% macro privacy_plausibility_rules() %}{{ return(privacy_plausibility_rules.macro.meta) }}{% endmacro %}
