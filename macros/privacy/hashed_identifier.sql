{#- The one way an identifier is hashed for ad-platform matching (customer match lists):
    the SHA-256 hex of the trimmed, lower-cased email, or of the phone in E.164
    (`phone_e164`, '+' and digits). Equal identifiers written differently ('  Ann@X.com '
    and 'ann@x.com'; '0151 234567' in DE and '+49151234567') hash alike; null stays null.
    A hash is pseudonymous, not anonymous: whoever holds the address can recompute it, so
    hashed columns are personal data (tagged `contains_pii`) and live with the clear ones. -#}
{% macro hashed_identifier(identifier_type, value, calling_code=none) -%}
    {%- if identifier_type == 'email' -%}
        {{ sha256_hex(normalize_email(value)) }}
    {%- elif identifier_type == 'phone' -%}
        {%- if calling_code is none -%}
            {{ exceptions.raise_compiler_error("hashed_identifier: a phone needs the calling_code of its country") }}
        {%- endif -%}
        {{ sha256_hex(phone_e164(value, calling_code)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("hashed_identifier: identifier_type must be email or phone, got " ~ identifier_type) }}
    {%- endif -%}
{%- endmacro %}
