{#- The validated registry, one mapping per segment in registry order, with what the models
    need besides the written fields:
      membership_condition  the full SQL condition for membership: the segment's rule, the
                            rules of all its ancestors, the default's completeness guard and,
                            when every channel needs consent, the consent check
      match_condition       the same without the consent check (rule and ancestors only)
      consent_condition     the consent check ('true' when a channel needs no consent)
      rule_hash             md5 of membership_condition: changes whenever membership would
      requires_consent, is_default, parent, channels_text
    For the default segment, membership_condition describes the fallback in words and SQL.
    Raises a compiler error (validate_segment_registry) when the registry is invalid. -#}
{% macro segment_definitions() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- do validate_segment_registry() -%}
    {%- set segments = segment_registry() -%}
    {#- The check per channel that needs consent: email also needs a deliverable address.
        Onsite needs none (has_onsite_consent is recorded but not a membership gate). -#}
    {%- set consent_columns = {
        'email': '(has_email_consent and not is_email_undeliverable)',
        'sms': 'has_sms_consent',
        'ads': 'has_ads_consent',
    } -%}
    {%- set by_key = {} -%}
    {%- set default_segment = namespace(value=none) -%}
    {%- for segment in segments -%}
        {%- do by_key.update({segment.key: segment}) -%}
        {%- if segment.get('is_default') is sameas true -%}
            {%- set default_segment.value = segment -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set incomplete_condition = 'coalesce((' ~ default_segment.value.too_incomplete_when | trim ~ '), false)' -%}

    {%- set definitions = [] -%}
    {%- for segment in segments -%}
        {%- set is_default = segment.get('is_default') is sameas true -%}
        {%- set channels = segment.channels -%}
        {%- set consent_checks = [] -%}
        {%- set needs_consent = namespace(value=true) -%}
        {%- for channel in channels -%}
            {%- if channel in consent_columns -%}
                {%- do consent_checks.append(consent_columns[channel]) -%}
            {%- else -%}
                {%- set needs_consent.value = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set requires_consent = needs_consent.value and not is_default -%}
        {%- set consent_condition = ('coalesce((' ~ consent_checks | join(' or ') ~ '), false)') if requires_consent else 'true' -%}

        {%- if is_default -%}
            {%- set match_condition = incomplete_condition -%}
            {%- set membership_condition = 'no other active segment matches, or ' ~ incomplete_condition -%}
        {%- else -%}
            {%- set rules = ['coalesce((' ~ segment.rule | trim ~ '), false)'] -%}
            {%- set walker = namespace(current=segment.get('parent')) -%}
            {%- for step in range(segments | length) -%}
                {%- if walker.current is not none -%}
                    {%- do rules.append('coalesce((' ~ by_key[walker.current].rule | trim ~ '), false)') -%}
                    {%- set walker.current = by_key[walker.current].get('parent') -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set match_condition = rules | join(' and ') -%}
            {%- set membership_condition = match_condition ~ ' and not ' ~ incomplete_condition ~ (' and ' ~ consent_condition if requires_consent else '') -%}
        {%- endif -%}
        {%- set membership_condition = modules.re.sub('\s+', ' ', membership_condition) -%}
        {%- set match_condition = modules.re.sub('\s+', ' ', match_condition) -%}

        {%- do definitions.append({
            'key': segment.key,
            'name': segment.name,
            'description': segment.description | trim,
            'rule': (segment.too_incomplete_when if is_default else segment.rule) | trim,
            'priority': segment.priority,
            'parent': segment.get('parent'),
            'owner': segment.owner,
            'status': segment.status,
            'review_by': segment.review_by | string,
            'channels_text': channels | join(','),
            'is_default': is_default,
            'requires_consent': requires_consent,
            'match_condition': match_condition,
            'consent_condition': consent_condition,
            'membership_condition': membership_condition,
            'rule_hash': local_md5(membership_condition),
        }) -%}
    {%- endfor -%}
    {{ return(definitions) }}
{% endmacro %}
