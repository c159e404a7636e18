{#- Every problem of the segment registry, one message per problem, worded exactly as
    scripts/segment_registry.py words them. Checks the fields, keys, priorities, statuses,
    dates, channels, parents (existence, cycles, active parents of active segments), the
    single default, and the rules lexically: no semicolons, comments or subqueries, only
    known columns (skipped when rule_columns is none) and allowed functions. The Python validator parses rules with sqlglot and
    also proves each rule is one boolean expression. -#}
{% macro segment_registry_problems(segments, rule_columns) %}
    {%- set re = modules.re -%}
    {%- set problems = [] -%}
    {%- set required_fields = ['key', 'name', 'description', 'priority', 'owner', 'status', 'review_by', 'channels'] -%}
    {%- set statuses = ['active', 'draft', 'archived'] -%}
    {%- set allowed_channels = ['email', 'sms', 'ads', 'onsite'] -%}
    {%- set allowed_functions = ['coalesce', 'nullif', 'abs', 'round', 'floor', 'ceil', 'least', 'greatest', 'lower', 'upper', 'trim', 'length'] -%}
    {%- set keywords = ['and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'between', 'like', 'ilike'] -%}
    {%- set statement_words = ['insert', 'update', 'delete', 'create', 'drop', 'alter', 'attach', 'copy', 'pragma', 'install', 'load', 'call', 'set', 'with', 'union', 'from'] -%}
    {%- set keys_seen = {} -%}
    {%- set priorities_seen = {} -%}
    {%- set parents = {} -%}
    {%- set statuses_by_key = {} -%}
    {%- set defaults = [] -%}

    {%- for segment in segments -%}
        {%- set key = segment.get('key') if segment is mapping else none -%}
        {%- set label = "segment '" ~ (key if key else '#' ~ loop.index) ~ "'" -%}
        {%- if segment is not mapping -%}
            {%- do problems.append(label ~ ": is not a mapping of fields") -%}
        {%- else -%}
            {%- for field in required_fields -%}
                {%- if segment.get(field) is none or segment.get(field) == '' or segment.get(field) == [] -%}
                    {%- do problems.append(label ~ ": missing required field '" ~ field ~ "'") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if key -%}
                {%- if not re.match('^[a-z][a-z0-9_]*$', key | string) -%}
                    {%- do problems.append(label ~ ": key must be snake_case (lowercase letters, digits, underscores)") -%}
                {%- endif -%}
                {%- if key in keys_seen -%}
                    {%- do problems.append(label ~ ": duplicate key (also segment #" ~ keys_seen[key] ~ ")") -%}
                {%- else -%}
                    {%- do keys_seen.update({key: loop.index}) -%}
                {%- endif -%}
                {%- do parents.update({key: segment.get('parent')}) -%}
                {%- do statuses_by_key.update({key: segment.get('status')}) -%}
            {%- endif -%}
            {%- set priority = segment.get('priority') -%}
            {%- if priority is not none -%}
                {%- if priority is not number or priority is sameas true or priority is sameas false or (priority | int) != priority -%}
                    {%- do problems.append(label ~ ": priority must be an integer") -%}
                {%- elif priority in priorities_seen -%}
                    {%- do problems.append(label ~ ": duplicate priority " ~ priority ~ " (also segment '" ~ priorities_seen[priority] ~ "')") -%}
                {%- else -%}
                    {%- do priorities_seen.update({priority: key}) -%}
                {%- endif -%}
            {%- endif -%}
            {%- set status = segment.get('status') -%}
            {%- if status is not none and status not in statuses -%}
                {%- do problems.append(label ~ ": status '" ~ status ~ "' is not one of active, draft, archived") -%}
            {%- endif -%}
            {%- set review_by = segment.get('review_by') -%}
            {%- if review_by is not none and not re.match('^\d{4}-\d{2}-\d{2}$', review_by | string) -%}
                {%- do problems.append(label ~ ": review_by '" ~ review_by ~ "' is not a date written YYYY-MM-DD") -%}
            {%- endif -%}
            {%- set channels = segment.get('channels') -%}
            {%- if channels is not none and channels != [] -%}
                {%- if channels is string or channels is not iterable or channels is mapping -%}
                    {%- do problems.append(label ~ ": channels must be a list") -%}
                {%- else -%}
                    {%- for channel in channels -%}
                        {%- if channel not in allowed_channels -%}
                            {%- do problems.append(label ~ ": channel '" ~ channel ~ "' is not one of email, sms, ads, onsite") -%}
                        {%- endif -%}
                    {%- endfor -%}
                {%- endif -%}
            {%- endif -%}

            {%- set rules = [] -%}
            {%- if segment.get('is_default') is sameas true -%}
                {%- do defaults.append(key) -%}
                {%- if segment.get('rule') is not none -%}
                    {%- do problems.append(label ~ ": the default segment has no rule (it holds customers who match nothing)") -%}
                {%- endif -%}
                {%- if segment.get('parent') is not none -%}
                    {%- do problems.append(label ~ ": the default segment cannot have a parent") -%}
                {%- endif -%}
                {%- if segment.get('too_incomplete_when') is none or segment.get('too_incomplete_when') == '' -%}
                    {%- do problems.append(label ~ ": missing required field 'too_incomplete_when'") -%}
                {%- else -%}
                    {%- do rules.append(('too_incomplete_when', segment.get('too_incomplete_when'))) -%}
                {%- endif -%}
            {%- else -%}
                {%- if segment.get('is_default') is not none and segment.get('is_default') is not sameas false -%}
                    {%- do problems.append(label ~ ": is_default must be true or false") -%}
                {%- endif -%}
                {%- if segment.get('too_incomplete_when') is not none -%}
                    {%- do problems.append(label ~ ": only the default segment has too_incomplete_when") -%}
                {%- endif -%}
                {%- if segment.get('rule') is none or segment.get('rule') == '' -%}
                    {%- do problems.append(label ~ ": missing required field 'rule'") -%}
                {%- else -%}
                    {%- do rules.append(('rule', segment.get('rule'))) -%}
                {%- endif -%}
            {%- endif -%}

            {%- for rule_field, rule_text in rules -%}
                {%- if rule_text is not string -%}
                    {%- do problems.append(label ~ ": " ~ rule_field ~ " must be text") -%}
                {%- else -%}
                    {%- set without_literals = re.sub("'(?:[^']|'')*'", "''", rule_text) -%}
                    {%- if ';' in without_literals -%}
                        {%- do problems.append(label ~ ": " ~ rule_field ~ " must not contain a semicolon") -%}
                    {%- elif '--' in without_literals or '/*' in without_literals -%}
                        {%- do problems.append(label ~ ": " ~ rule_field ~ " must not contain a comment") -%}
                    {%- else -%}
                        {%- set words = re.findall('([A-Za-z_][A-Za-z0-9_]*)(\s*\()?', without_literals) -%}
                        {%- set lowered = [] -%}
                        {%- for word, call in words -%}{%- do lowered.append(word | lower) -%}{%- endfor -%}
                        {%- if lowered and lowered[0] in ['select', 'with'] -%}
                            {%- do problems.append(label ~ ": " ~ rule_field ~ " is not a single boolean expression") -%}
                        {%- elif 'select' in lowered -%}
                            {%- do problems.append(label ~ ": " ~ rule_field ~ " must not contain a subquery") -%}
                        {%- elif lowered | select('in', statement_words) | list | length > 0 -%}
                            {%- do problems.append(label ~ ": " ~ rule_field ~ " is not a single boolean expression") -%}
                        {%- else -%}
                            {%- for word, call in words -%}
                                {%- set name = word | lower -%}
                                {%- if call and name not in keywords -%}
                                    {%- if name not in allowed_functions -%}
                                        {%- do problems.append(label ~ ": " ~ rule_field ~ " uses function '" ~ name ~ "', which is not allowed") -%}
                                    {%- endif -%}
                                {%- elif name not in keywords and rule_columns is not none and name not in rule_columns -%}
                                    {%- do problems.append(label ~ ": " ~ rule_field ~ " references unknown column '" ~ name ~ "'") -%}
                                {%- endif -%}
                            {%- endfor -%}
                        {%- endif -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for key, parent in parents.items() -%}
        {%- if parent is not none -%}
            {%- if parent not in parents -%}
                {%- do problems.append("segment '" ~ key ~ "': parent '" ~ parent ~ "' does not exist") -%}
            {%- else -%}
                {%- if statuses_by_key[key] == 'active' and statuses_by_key[parent] != 'active' -%}
                    {%- do problems.append("segment '" ~ key ~ "': is active but its parent '" ~ parent ~ "' is " ~ statuses_by_key[parent]) -%}
                {%- endif -%}
                {%- set chain = namespace(path=[key], current=parent, cycle=false, done=false) -%}
                {%- for step in range(parents | length + 1) -%}
                    {%- if not chain.done -%}
                        {%- if chain.current is none or chain.current not in parents -%}
                            {%- set chain.done = true -%}
                        {%- elif chain.current in chain.path -%}
                            {%- set chain.cycle = chain.current == key -%}
                            {%- set chain.path = chain.path + [chain.current] -%}
                            {%- set chain.done = true -%}
                        {%- else -%}
                            {%- set chain.path = chain.path + [chain.current] -%}
                            {%- set chain.current = parents[chain.current] -%}
                        {%- endif -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- if chain.cycle -%}
                    {%- do problems.append("segment '" ~ key ~ "': parents form a cycle (" ~ chain.path | join(' -> ') ~ ")") -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {%- if defaults | length != 1 -%}
        {%- do problems.append("registry: exactly one segment must have is_default: true (found " ~ defaults | length ~ ")") -%}
    {%- elif statuses_by_key.get(defaults[0]) != 'active' -%}
        {%- do problems.append("segment '" ~ defaults[0] ~ "': the default segment must be active") -%}
    {%- endif -%}

    {{ return(problems) }}
{% endmacro %}
