"""Validate and load the audience registry: who goes to which channel, and where to.

The registry is the `audiences` and `destinations` lists in the `meta` of the
`audience_registry` macro, declared in models/marts/activation/_audience_registry.yml
(its header comment documents every field). Checked here: required and unknown fields,
unique snake_case keys, status / channel / schedule values, segments that exist in the
segment registry and are not archived, consent purposes of seeds/consent_purposes.csv
on the audience's channel, suppressions, holdout and frequency cap, destinations and
their type-specific settings, and that every destination an audience uses is a dbt
exposure of the same name in _activation__exposures.yml beside the registry (and every
exposure there names a destination). Environment variables named by settings are not
checked here: the export checks them before it writes anything.

    python scripts/audience_registry.py validate [--registry PATH]
    python scripts/audience_registry.py checksum [--registry PATH]

`validate` exits 0 with a one-line summary when the registry is valid, 1 with one line per
problem otherwise. `checksum` prints only the checksum of a valid registry, for
SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM (adapters without the DuckDB plugin). Other scripts call
`load_registry()`, which returns a `Registry` of frozen dataclasses or raises ValueError with
one line per problem. dbt runs the same checks before any node: the DuckDB plugin
scripts/segment_registry_plugin.py registers `dbt_verdict_json` as the SQL function
`audience_registry_verdict`, which macros/activation/validate_audience_registry.sql calls.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Iterator, Mapping

import yaml

import segment_registry

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = PROJECT_DIR / "models" / "marts" / "activation" / "_audience_registry.yml"
EXPOSURES_FILE_NAME = "_activation__exposures.yml"
DEFAULT_SEGMENT_REGISTRY = segment_registry.DEFAULT_REGISTRY
DEFAULT_CONSENT_PURPOSES = PROJECT_DIR / "seeds" / "consent_purposes.csv"

AUDIENCE_FIELDS = (
    "key", "name", "description", "owner", "status", "segments", "channel", "consent_purpose",
    "suppressions", "holdout_percent", "destinations", "schedule",
)
OPTIONAL_AUDIENCE_FIELDS = ("frequency_cap",)
DESTINATION_FIELDS = ("key", "type", "description", "owner", "settings")
SEGMENT_LISTS = ("primary", "any", "exclude")
STATUSES = ("active", "paused", "archived")
CHANNELS = ("email", "sms", "ads", "onsite")
SCHEDULES = ("hourly", "daily", "weekly")
SUPPRESSIONS = ("hard_bounce", "spam_complaint", "global_unsubscribe", "manual")
# Suppressions that only mean something on one channel.
SUPPRESSION_CHANNELS = {"hard_bounce": "email", "spam_complaint": "email"}
DESTINATION_TYPES = (
    "mailchimp", "klaviyo", "braze", "google_customer_match", "meta_custom_audience", "webhook",
)
# Settings every destination type accepts, and those of one type; True marks a required one.
COMMON_SETTINGS = {"batch_size": False, "max_attempts": False}
TYPE_SETTINGS: dict[str, dict[str, bool]] = {"webhook": {"url_env": True}}
POSITIVE_INT_SETTINGS = ("batch_size", "max_attempts")
FREQUENCY_CAP_FIELDS = ("max_additions", "per_days")
MAX_HOLDOUT_PERCENT = 50
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
ENV_VAR_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class FrequencyCap:
    """A customer is added to at most max_additions export runs of a channel in per_days days."""

    max_additions: int
    per_days: int


@dataclass(frozen=True)
class SegmentSelection:
    """The segments an audience takes: by primary segment, by any membership, and exclusions."""

    primary: tuple[str, ...]
    any: tuple[str, ...]
    exclude: tuple[str, ...]


@dataclass(frozen=True)
class Destination:
    key: str
    type: str
    description: str
    owner: str
    settings: Mapping[str, object]


@dataclass(frozen=True)
class Audience:
    key: str
    name: str
    description: str
    owner: str
    status: str
    segments: SegmentSelection
    channel: str
    consent_purpose: str
    suppressions: tuple[str, ...]
    frequency_cap: FrequencyCap | None
    holdout_percent: int
    destinations: tuple[str, ...]
    schedule: str


@dataclass(frozen=True)
class Registry:
    audiences: list[Audience]
    destinations: list[Destination]

    def audience(self, key: str) -> Audience:
        """The audience of that key, or ValueError naming the known keys."""
        for audience in self.audiences:
            if audience.key == key:
                return audience
        raise ValueError(f"unknown audience '{key}'; known: {', '.join(a.key for a in self.audiences)}")

    def destination(self, key: str) -> Destination:
        """The destination of that key, or ValueError naming the known keys."""
        for destination in self.destinations:
            if destination.key == key:
                return destination
        raise ValueError(f"unknown destination '{key}'; known: {', '.join(d.key for d in self.destinations)}")


# --- reading -------------------------------------------------------------------------------
def read_meta(path: Path, macro_name: str = "audience_registry") -> dict:
    """The meta of a registry macro (by default audience_registry) in a file, or ValueError."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"registry: file {path} not found") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"registry: {path} is not valid YAML{place}") from None
    macros = document.get("macros") if isinstance(document, dict) else None
    for macro in macros if isinstance(macros, list) else []:
        if isinstance(macro, dict) and macro.get("name") == macro_name:
            meta = macro.get("meta")
            if not isinstance(meta, dict):
                raise ValueError(f"registry: the {macro_name} macro in {path} has no meta")
            return meta
    raise ValueError(f"registry: {path} declares no {macro_name} macro")


def segment_statuses(path: Path) -> dict[str, str]:
    """Segment key -> status, from the segment registry; ValueError when it cannot be read."""
    segments = segment_registry.load_registry(path)
    if not isinstance(segments, list):
        raise ValueError(f"segment registry: {path} has no list of segments")
    return {
        str(segment["key"]): str(segment.get("status"))
        for segment in segments
        if isinstance(segment, dict) and segment.get("key")
    }


def consent_purposes(path: Path) -> dict[str, str]:
    """Purpose -> its channel, from the consent purposes seed."""
    try:
        with path.open(newline="") as handle:
            return {row["purpose"]: row["channel"] for row in csv.DictReader(handle)}
    except FileNotFoundError:
        raise ValueError(f"consent purposes: file {path} not found") from None


def exposure_names(path: Path) -> list[str] | None:
    """Names of the exposures declared in the activation exposures file; None without one."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return None
    except yaml.YAMLError:
        raise ValueError(f"exposures: {path} is not valid YAML") from None
    exposures = document.get("exposures") if isinstance(document, dict) else None
    return [str(item.get("name")) for item in exposures or [] if isinstance(item, dict)]


# --- checking ------------------------------------------------------------------------------
def _label(kind: str, item: object, index: int) -> str:
    key = item.get("key") if isinstance(item, dict) else None
    return f"{kind} '{key}'" if isinstance(key, str) and key else f"{kind} #{index}"


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _fields_problems(label: str, item: dict, required: tuple[str, ...], optional: tuple[str, ...]) -> list[str]:
    problems = [f"{label}: missing required field '{field}'" for field in required if item.get(field) in (None, "")]
    problems += [f"{label}: unknown field '{field}'" for field in item if field not in required + optional]
    return problems


def _keys_problems(kind: str, items: list) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        key = item.get("key") if isinstance(item, dict) else None
        if key in (None, ""):
            continue
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            problems.append(f"{kind} '{key}': key must be snake_case (lowercase letters, digits, underscores)")
        elif key in seen:
            problems.append(f"{kind} '{key}': duplicate key (also {kind} #{seen[key]})")
        else:
            seen[key] = index
    return problems


def _entries(
    kind: str, items: list, required: tuple[str, ...], optional: tuple[str, ...], problems: list[str]
) -> Iterator[tuple[str, dict]]:
    """(label, entry) for each entry that is a mapping, after adding the problems of its
    key and fields (and of entries that are not mappings) to `problems`."""
    problems += _keys_problems(kind, items)
    for index, item in enumerate(items, start=1):
        label = _label(kind, item, index)
        if not isinstance(item, dict):
            problems.append(f"{label}: is not a mapping of fields")
            continue
        problems += _fields_problems(label, item, required, optional)
        yield label, item


def destination_problems(destinations: object) -> list[str]:
    """Problems of the destinations list, one message each."""
    if not isinstance(destinations, list):
        return ["registry: meta.destinations of the audience_registry macro must be a list"]
    problems: list[str] = []
    for label, destination in _entries("destination", destinations, DESTINATION_FIELDS[:-1],
                                       DESTINATION_FIELDS[-1:], problems):
        kind = destination.get("type")
        if kind is not None and kind not in DESTINATION_TYPES:
            problems.append(f"{label}: type '{kind}' is not one of {', '.join(DESTINATION_TYPES)}")
            continue
        settings = destination.get("settings", {})
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            problems.append(f"{label}: settings must be a mapping (use {{}} for none)")
            continue
        allowed = {**COMMON_SETTINGS, **TYPE_SETTINGS.get(str(kind), {})}
        for name, required in allowed.items():
            if required and settings.get(name) in (None, ""):
                problems.append(f"{label}: a {kind} destination needs the setting '{name}'")
        for name, value in settings.items():
            if name not in allowed:
                problems.append(f"{label}: unknown setting '{name}' for type {kind} (allowed: {', '.join(allowed)})")
            elif name in POSITIVE_INT_SETTINGS and not _is_positive_int(value):
                problems.append(f"{label}: setting '{name}' must be a positive integer, got {value!r}")
            elif name == "url_env" and value not in (None, "") and not (
                isinstance(value, str) and ENV_VAR_PATTERN.match(value)
            ):
                problems.append(
                    f"{label}: setting 'url_env' must name an environment variable (UPPER_SNAKE_CASE), got {value!r}"
                )
    return problems


def audience_problems(
    audiences: object,
    destination_keys: set[str],
    segments: dict[str, str],
    purposes: dict[str, str],
) -> list[str]:
    """Problems of the audiences list, one message each."""
    if not isinstance(audiences, list):
        return ["registry: meta.audiences of the audience_registry macro must be a list"]
    problems: list[str] = []
    for label, audience in _entries("audience", audiences, AUDIENCE_FIELDS, OPTIONAL_AUDIENCE_FIELDS, problems):
        for field, allowed in (("status", STATUSES), ("channel", CHANNELS), ("schedule", SCHEDULES)):
            value = audience.get(field)
            if value not in (None, "") and value not in allowed:
                problems.append(f"{label}: {field} '{value}' is not one of {', '.join(allowed)}")
        problems += _segments_problems(label, audience.get("segments"), segments)
        problems += _consent_problems(label, audience, purposes)
        problems += _suppressions_problems(label, audience)
        problems += _holdout_problems(label, audience.get("holdout_percent"))
        problems += _frequency_cap_problems(label, audience.get("frequency_cap"))
        problems += _audience_destinations_problems(label, audience.get("destinations"), destination_keys)
    return problems


def _segments_problems(label: str, selection: object, segments: dict[str, str]) -> list[str]:
    if selection is None:
        return []
    if not isinstance(selection, dict):
        return [f"{label}: segments must be a mapping with primary, any and exclude lists"]
    problems = [f"{label}: segments has unknown list '{name}'" for name in selection if name not in SEGMENT_LISTS]
    lists: dict[str, list] = {}
    for name in SEGMENT_LISTS:
        keys = selection.get(name) or []
        if not isinstance(keys, list):
            problems.append(f"{label}: segments.{name} must be a list of segment keys")
            keys = []
        lists[name] = keys
        for key in keys:
            if key not in segments:
                problems.append(f"{label}: segments.{name}: segment '{key}' does not exist in the segment registry")
            elif segments[key] == "archived":
                problems.append(f"{label}: segments.{name}: segment '{key}' is archived")
    if not lists["primary"] and not lists["any"]:
        problems.append(f"{label}: segments needs at least one key in primary or any")
    for name in ("primary", "any"):
        overlap = sorted(set(map(str, lists[name])) & set(map(str, lists["exclude"])))
        if overlap:
            problems.append(f"{label}: segments.exclude overlaps segments.{name} ({', '.join(overlap)})")
    return problems


def _consent_problems(label: str, audience: dict, purposes: dict[str, str]) -> list[str]:
    purpose, channel = audience.get("consent_purpose"), audience.get("channel")
    if purpose in (None, ""):
        return []
    if purpose not in purposes:
        return [f"{label}: consent_purpose '{purpose}' is not in seeds/consent_purposes.csv"]
    if channel in CHANNELS and purposes[purpose] != channel:
        return [f"{label}: consent_purpose '{purpose}' belongs to channel {purposes[purpose]}, not {channel}"]
    return []


def _suppressions_problems(label: str, audience: dict) -> list[str]:
    suppressions = audience.get("suppressions")
    if suppressions is None:
        return []
    if not isinstance(suppressions, list):
        return [f"{label}: suppressions must be a list"]
    problems: list[str] = []
    for suppression in suppressions:
        if suppression not in SUPPRESSIONS:
            problems.append(f"{label}: suppression '{suppression}' is not one of {', '.join(SUPPRESSIONS)}")
        elif audience.get("channel") in CHANNELS and SUPPRESSION_CHANNELS.get(
            suppression, audience["channel"]
        ) != audience["channel"]:
            problems.append(
                f"{label}: suppression '{suppression}' applies to {SUPPRESSION_CHANNELS[suppression]} audiences only"
            )
    return problems


def _holdout_problems(label: str, holdout: object) -> list[str]:
    if holdout is None:
        return []
    if isinstance(holdout, bool) or not isinstance(holdout, int) or not 0 <= holdout <= MAX_HOLDOUT_PERCENT:
        return [f"{label}: holdout_percent must be a whole number from 0 to {MAX_HOLDOUT_PERCENT}, got {holdout!r}"]
    return []


def _frequency_cap_problems(label: str, cap: object) -> list[str]:
    if cap is None:
        return []
    if not isinstance(cap, dict) or set(cap) != set(FREQUENCY_CAP_FIELDS) or not all(
        _is_positive_int(cap[field]) for field in FREQUENCY_CAP_FIELDS
    ):
        return [f"{label}: frequency_cap must be {{max_additions: N, per_days: D}} with positive integers, got {cap!r}"]
    return []


def _audience_destinations_problems(label: str, keys: object, destination_keys: set[str]) -> list[str]:
    if keys is None:
        return []
    if not isinstance(keys, list) or not keys:
        return [f"{label}: destinations must be a non-empty list of destination keys"]
    problems = [f"{label}: destination '{key}' is not declared under destinations" for key in keys
                if key not in destination_keys]
    if len(set(map(str, keys))) != len(keys):
        problems.append(f"{label}: destinations lists a destination twice")
    return problems


def exposure_problems(exposures: list[str] | None, path: Path, used: set[str], declared: set[str]) -> list[str]:
    """Every destination in use is an exposure of the same name, and every exposure is a destination."""
    if exposures is None:
        return [f"exposures: file {path} not found (one exposure per destination in use)"] if used else []
    names = set(exposures)
    problems = [f"destination '{key}': used by an audience but not declared as an exposure in {path.name}"
                for key in sorted(used - names)]
    problems += [f"exposure '{name}': in {path.name} but not a destination of the audience registry"
                 for name in sorted(names - declared)]
    return problems


def registry_problems(
    meta: dict,
    segments: dict[str, str],
    purposes: dict[str, str],
    exposures: list[str] | None,
    exposures_path: Path,
) -> list[str]:
    """Every problem of the registry's meta, one message each."""
    destinations, audiences = meta.get("destinations"), meta.get("audiences")
    problems = destination_problems(destinations)
    declared = {d["key"] for d in destinations if isinstance(d, dict) and isinstance(d.get("key"), str)} \
        if isinstance(destinations, list) else set()
    problems += audience_problems(audiences, declared, segments, purposes)
    used = {
        key
        for audience in audiences if isinstance(audience, dict) and isinstance(audience.get("destinations"), list)
        for key in audience["destinations"] if key in declared
    } if isinstance(audiences, list) else set()
    problems += exposure_problems(exposures, exposures_path, used, declared)
    return problems


# --- building ------------------------------------------------------------------------------
def _build(meta: dict) -> Registry:
    destinations = [
        Destination(
            key=item["key"], type=item["type"], description=str(item["description"]), owner=str(item["owner"]),
            settings=MappingProxyType(dict(item.get("settings") or {})),
        )
        for item in meta["destinations"]
    ]
    audiences = []
    for item in meta["audiences"]:
        selection = item["segments"]
        cap = item.get("frequency_cap")
        audiences.append(Audience(
            key=item["key"], name=str(item["name"]), description=str(item["description"]),
            owner=str(item["owner"]), status=item["status"],
            segments=SegmentSelection(*(tuple(selection.get(name) or ()) for name in SEGMENT_LISTS)),
            channel=item["channel"], consent_purpose=item["consent_purpose"],
            suppressions=tuple(item["suppressions"]),
            frequency_cap=FrequencyCap(cap["max_additions"], cap["per_days"]) if cap else None,
            holdout_percent=item["holdout_percent"], destinations=tuple(item["destinations"]),
            schedule=item["schedule"],
        ))
    return Registry(audiences=audiences, destinations=destinations)


def load_registry(
    path: Path | None = None,
    *,
    segment_registry_path: Path | None = None,
    consent_purposes_path: Path | None = None,
) -> Registry:
    """The validated registry; ValueError with one line per problem when it is invalid.

    The exposures file is read beside the registry file; the segment registry and the
    consent purposes seed from the project unless given.
    """
    path = Path(path) if path else DEFAULT_REGISTRY
    meta = read_meta(path)
    segments = segment_statuses(segment_registry_path or DEFAULT_SEGMENT_REGISTRY)
    purposes = consent_purposes(consent_purposes_path or DEFAULT_CONSENT_PURPOSES)
    exposures_path = path.parent / EXPOSURES_FILE_NAME
    problems = registry_problems(meta, segments, purposes, exposure_names(exposures_path), exposures_path)
    if problems:
        raise ValueError("\n".join(problems))
    return _build(meta)


def registry_checksum(meta: dict) -> str:
    """md5 of the registry's meta as dbt's `local_md5(tojson(meta, sort_keys=true))` computes it."""
    parsed = segment_registry.as_dbt_parses(meta)
    return hashlib.md5(json.dumps(parsed, sort_keys=True).encode("utf-8")).hexdigest()  # noqa: S324 - a checksum


def dbt_verdict_json(registry_path: str, parsed_json: str) -> str:
    """The verdict for dbt, as JSON text ``{"problems": [...]}``: what the DuckDB plugin's SQL
    function returns. registry_path is the registry file (the audience_registry macro's patch
    path; a relative path is read from dbt's working directory), validated as written, as
    the command line does; parsed_json is the macro's meta as dbt parsed it, which must
    equal the file's (a registry edited after dbt read it is refused)."""
    path = Path(registry_path) if registry_path else DEFAULT_REGISTRY
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = None
    return _dbt_verdict_json(path, text, parsed_json)


@functools.lru_cache(maxsize=8)
def _dbt_verdict_json(path: Path, text: str | None, parsed_json: str) -> str:
    try:
        if text is None:
            raise ValueError(f"registry: file {path} not found")
        meta = read_meta(path)
        load_registry(path)
    except ValueError as error:
        return json.dumps({"problems": str(error).splitlines()})
    if segment_registry.as_dbt_parses(json.loads(json.dumps(meta))) != json.loads(parsed_json):
        return json.dumps({"problems": [f"registry: {path} changed after dbt read it; run dbt again"]})
    return json.dumps({"problems": []})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check the registry; exit 1 with one line per problem")
    validate.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry file (default: %(default)s)")
    checksum = commands.add_parser(
        "checksum", help="print the checksum of a valid registry (for SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM)")
    checksum.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry file (default: %(default)s)")
    arguments = parser.parse_args(argv)
    try:
        registry = load_registry(arguments.registry)
    except ValueError as error:
        print(error, file=sys.stderr if arguments.command == "checksum" else sys.stdout)
        return 1
    if arguments.command == "checksum":
        print(registry_checksum(read_meta(arguments.registry)))
        return 0
    active = sum(1 for audience in registry.audiences if audience.status == "active")
    print(
        f"Audience registry is valid: {len(registry.audiences)} audiences ({active} active), "
        f"{len(registry.destinations)} destinations."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
