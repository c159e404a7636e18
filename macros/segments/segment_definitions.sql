{#- The validated registry, one mapping per segment in registry order, with what the models
    need besides the written fields:
      membership_condition  the full SQL condition for membership: the segment's rule and
                            behavioural conditions, those of all its ancestors, the default's
                            completeness guard and, when every channel needs consent, the
                            consent check
      match_condition       the same without the consent check (rules, conditions, ancestors)
      consent_condition     the consent check ('true' when a channel needs no consent)
      rule_hash             md5 of membership_condition; for a segment with behavioural
                            conditions (its own or an ancestor's) also of the conditions as
                            written and of the rule_hash of every segment they read through
                            member_of, so it changes whenever membership would
      level                 0, or 1 + the highest level of the segments its conditions (or an
                            ancestor's) read through member_of: the order of evaluation
      member_of             the keys read through member_of by it and its ancestors
      conditions_json       its own conditions as written (JSON), none without
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
    {%- set condition_plan = segment_condition_plan() -%}

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

        {%- set written_conditions = [] -%}
        {%- set profile_rules = [] -%}
        {%- set member_of = [] -%}
        {%- if is_default -%}
            {%- set match_condition = incomplete_condition -%}
            {%- set membership_condition = 'no other active segment matches, or ' ~ incomplete_condition -%}
            {%- set profile_condition = incomplete_condition -%}
        {%- else -%}
            {%- set rules = [] -%}
            {%- set chain = [segment] -%}
            {%- set walker = namespace(current=segment.get('parent')) -%}
            {%- for step in range(segments | length) -%}
                {%- if walker.current is not none -%}
                    {%- do chain.append(by_key[walker.current]) -%}
                    {%- set walker.current = by_key[walker.current].get('parent') -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for link in chain -%}
                {%- if link.get('rule') is not none -%}
                    {%- do rules.append('coalesce((' ~ link.rule | trim ~ '), false)') -%}
                    {%- do profile_rules.append('coalesce((' ~ link.rule | trim ~ '), false)') -%}
                {%- endif -%}
                {%- if link.key in condition_plan.segments -%}
                    {%- do rules.append('coalesce(' ~ condition_plan.segments[link.key].sql ~ ', false)') -%}
                    {%- do written_conditions.append({'segment': link.key, 'conditions': link.conditions}) -%}
                    {%- for target in condition_plan.segments[link.key].member_of if target not in member_of -%}
                        {%- do member_of.append(target) -%}
                    {%- endfor -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set match_condition = rules | join(' and ') -%}
            {%- set membership_condition = match_condition ~ ' and not ' ~ incomplete_condition ~ (' and ' ~ consent_condition if requires_consent else '') -%}
            {%- set profile_condition = (profile_rules + ['not ' ~ incomplete_condition] + ([consent_condition] if requires_consent else [])) | join(' and ') -%}
        {%- endif -%}
        {%- set membership_condition = modules.re.sub('\s+', ' ', membership_condition) -%}
        {%- set match_condition = modules.re.sub('\s+', ' ', match_condition) -%}

        {%- do definitions.append({
            'key': segment.key,
            'name': segment.name,
            'description': segment.description | trim,
            'rule': ((segment.too_incomplete_when if is_default else segment.rule) | trim) if (is_default or segment.get('rule') is not none) else none,
            'conditions_json': tojson(segment.conditions, sort_keys=true) if segment.get('conditions') is not none else none,
            'written_conditions': written_conditions,
            'member_of': member_of,
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
            'profile_condition': profile_condition,
            'rule_hash': local_md5(membership_condition),
        }) -%}
    {%- endfor -%}

    {#- Levels and hashes in dependency order: a segment read through member_of is evaluated,
        and hashed, before the segments that read it (the validator rejects cycles). -#}
    {%- set definition_by_key = {} -%}
    {%- for definition in definitions -%}
        {%- do definition_by_key.update({definition.key: definition}) -%}
    {%- endfor -%}
    {%- set settled = {} -%}
    {%- for round in range(definitions | length + 1) -%}
        {%- for definition in definitions if definition.key not in settled -%}
            {%- set pending = [] -%}
            {%- for target in definition.member_of if target not in settled -%}
                {%- do pending.append(target) -%}
            {%- endfor -%}
            {%- if pending | length == 0 -%}
                {%- set levels = [-1] -%}
                {%- set target_hashes = [] -%}
                {%- for target in definition.member_of -%}
                    {%- do levels.append(settled[target].level) -%}
                    {%- do target_hashes.append(target ~ '=' ~ settled[target].rule_hash) -%}
                {%- endfor -%}
                {%- set level = (levels | max) + 1 -%}
                {%- if definition.written_conditions -%}
                    {%- set rule_hash = local_md5(definition.membership_condition ~ ' | conditions: '
                        ~ tojson(definition.written_conditions, sort_keys=true) ~ ' | member_of: ' ~ target_hashes | join(',')) -%}
                {%- else -%}
                    {%- set rule_hash = definition.rule_hash -%}
                {%- endif -%}
                {%- do definition.update({'level': level, 'rule_hash': rule_hash}) -%}
                {%- do settled.update({definition.key: definition}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(definitions) }}
{% endmacro %}
