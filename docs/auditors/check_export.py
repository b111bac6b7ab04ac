#!/usr/bin/env python3
"""Check an Armistice export (format 2) with nothing but Python's standard
library (Python 3.9 or later), independently of the Armistice program.

    python3 check_export.py EXPORT.jsonl --key OPERATOR_VKEY [--checkpoint NOTE]... [--seq N]

EXPORT.jsonl   what `armistice export` printed (`-` for standard input).
--key          the operator's verifier key, `<name>+<key id>+<base64>` (as
               `armistice init` prints it and `<ledger>/operator.vkey` holds
               it) or 64 hex characters, or a file holding either. It is the
               operator's FIRST key: later keys are read from the
               `operator_key_rotated` entries of the export.
--checkpoint   a signed checkpoint note (`armistice checkpoint`); repeat it
               for several. Each must be signed by the operator key in force
               for its size and have the root of the export's first `size`
               entries.
--seq N        also print the inclusion proof (audit path) of entry N in the
               tree of the largest checkpoint given.

For every line it decodes the leaf (the entry header) and checks the hash,
the chain, the seq, `recorded_at` and the stream versions; decodes the
payload (bincode, standard configuration), checks that it is canonical and
that its SHA-256 is the digest in the leaf; recomputes the digest of every
disclosed field from the line's value and salt; compares every field the
line shows with what the leaf and payload prove; checks that every redacted
field reads as a redaction does and is covered by an `entry_redacted` of the
export; checks each statement's Ed25519 signature under the key its author
had at that point of the log. Then it rebuilds the RFC 6962 tree and checks
each checkpoint's signature and root. docs/FORMAT.md describes every byte.

Exit status: 0 when everything checks, 1 when the export or a checkpoint
fails a check (the message names the line and the field), 2 for bad
arguments or unreadable files. Every check is an explicit test: running
under `python3 -O` changes nothing.
"""

import base64
import binascii
import hashlib
import json
import os
import struct
import sys

USAGE = ("usage: check_export.py EXPORT.jsonl --key OPERATOR_VKEY "
         "[--checkpoint NOTE]... [--seq N]")

LINE_BYTES_MAX = 256 * 1024
ID_BYTES_MAX = 64
OPERATOR = "operator"
REDACTED_TEXT = "[redacted]"
GENESIS_HASH = bytes(32)
STATEMENT_DOMAIN = {1: b"armistice/statement/v1\n", 2: b"armistice/statement/v2\n"}
DISCLOSURE_DOMAIN = b"armistice/disclosure/v1\n"
FIXED_LEAF_BYTES = 115
FLAG_BACKFILLED, FLAG_SIGNED = 0x01, 0x02
FIRST_MICROS = -62_167_219_200_000_000   # 0000-01-01T00:00:00Z
LAST_MICROS = 253_402_300_799_999_999    # 9999-12-31T23:59:59.999999Z
U64_MAX, U32_MAX = 2 ** 64 - 1, 2 ** 32 - 1
# Unicode White_Space, what Rust's `str::trim` removes around a line.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004" \
             "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


class Bad(Exception):
    """A failed check: the field it is about (or None) and why."""

    def __init__(self, field, reason):
        super().__init__(reason)
        self.field = field
        self.reason = reason


class Failed(Exception):
    """A failed check, placed: the message is complete."""


class UsageError(Exception):
    """Bad arguments or unreadable input."""


def fail(field, reason):
    raise Bad(field, reason)


def say(text):
    """Prints a line; a closed standard output (`| head`) ends the output
    quietly while the checks go on and still decide the exit status."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def sha256(data):
    return hashlib.sha256(data).digest()


# ---------------------------------------------------------------------------
# The event model (crates/armistice-core/src/event.rs), in declaration order:
# the order IS the stored format.

REQUIRED = object()

ENUMS = {
    "role": ["belligerent", "mediator", "monitor"],
    "kind": ["bilateral", "unilateral"],
    "scope": ["all_hostilities", "energy_infrastructure", "maritime",
              "civilian_targets", "other"],
    "precision": ["exact", "hour", "day", "week"],
    "category": ["shelling", "drone_strike", "missile_strike",
                 "energy_infrastructure_strike", "shipping_attack",
                 "small_arms", "other"],
    "response": ["acknowledged", "denied", "disputed_facts"],
    "finding": ["verified", "refuted", "inconclusive"],
    "confidence": ["low", "medium", "high"],
}

# Field kinds: "party", "agreement", "claim" (identifiers), "text", "ts"
# (timestamp), "u64", "key" (Ed25519 public key), "enum:<name>",
# "list:<kind>", "opt:<kind>", "location", "casualties", "evidence".
# Each field: (JSON name, kind, default when absent from a JSON line).
EVENTS = [
    ("party_registered", [
        ("party", "party", REQUIRED), ("name", "text", REQUIRED),
        ("role", "enum:role", REQUIRED), ("public_key", "opt:key", None)]),
    ("party_key_rotated", [("public_key", "key", REQUIRED)]),
    ("agreement_proposed", [
        ("agreement", "agreement", REQUIRED), ("title", "text", REQUIRED),
        ("kind", "enum:kind", REQUIRED), ("parties", "list:party", REQUIRED),
        ("mediators", "list:party", []), ("scope", "list:enum:scope", REQUIRED),
        ("area", "opt:text", None), ("effective_from", "ts", REQUIRED),
        ("expires_at", "opt:ts", None), ("terms", "opt:text", None)]),
    ("agreement_signed", [
        ("agreement", "agreement", REQUIRED), ("conditions", "opt:text", None)]),
    ("agreement_terms_contested", [
        ("agreement", "agreement", REQUIRED), ("statement", "text", REQUIRED),
        ("asserted_effective_from", "opt:ts", None),
        ("asserted_scope", "opt:list:enum:scope", None)]),
    ("agreement_suspended", [
        ("agreement", "agreement", REQUIRED), ("reason", "text", REQUIRED)]),
    ("agreement_resumed", [("agreement", "agreement", REQUIRED)]),
    ("agreement_amended", [
        ("agreement", "agreement", REQUIRED), ("expires_at", "opt:ts", None),
        ("scope", "opt:list:enum:scope", None), ("terms", "opt:text", None)]),
    ("agreement_terminated", [
        ("agreement", "agreement", REQUIRED), ("reason", "text", REQUIRED)]),
    ("violation_alleged", [
        ("claim", "claim", REQUIRED), ("agreement", "agreement", REQUIRED),
        ("against", "party", REQUIRED), ("incident_at", "ts", REQUIRED),
        ("incident_precision", "opt:enum:precision", None),
        ("incident_until", "opt:ts", None), ("count", "u64", 1),
        ("category", "enum:category", REQUIRED),
        ("location", "location", REQUIRED),
        ("casualties", "opt:casualties", None),
        ("description", "text", REQUIRED), ("evidence", "evidence", [])]),
    ("evidence_added", [
        ("claim", "claim", REQUIRED), ("evidence", "evidence", REQUIRED)]),
    ("allegation_responded", [
        ("claim", "claim", REQUIRED), ("response", "enum:response", REQUIRED),
        ("statement", "text", REQUIRED), ("counter_claim", "opt:claim", None)]),
    ("allegation_assessed", [
        ("claim", "claim", REQUIRED), ("finding", "enum:finding", REQUIRED),
        ("confidence", "enum:confidence", REQUIRED),
        ("reasoning", "text", REQUIRED)]),
    ("allegation_retracted", [
        ("claim", "claim", REQUIRED), ("reason", "text", REQUIRED)]),
    ("entry_redacted", [
        ("target_seq", "u64", REQUIRED), ("reason", "text", REQUIRED),
        ("fields", "list:text", [])]),
    ("party_key_replaced", [
        ("party", "party", REQUIRED), ("public_key", "key", REQUIRED),
        ("reason", "text", REQUIRED)]),
    ("operator_key_rotated", [("public_key", "key", REQUIRED)]),
]
TYPE_NAMES = [name for name, _ in EVENTS]
TYPE_FIELDS = dict(EVENTS)
SCHEMA_1_TYPES = 15          # schema 1 knows the types 1..15 only
OPERATOR_TYPES = {"party_registered", "entry_redacted", "party_key_replaced",
                  "operator_key_rotated"}

# The redactable fields (crates/armistice-core/src/disclose.rs): code, name.
FIELD_CODES = {"source": 1, "name": 2, "title": 3, "area": 4, "terms": 5,
               "conditions": 6, "statement": 7, "reason": 8,
               "description": 9, "location": 10, "casualties": 11,
               "evidence": 12, "reasoning": 13}
FIELD_NAMES = {code: name for name, code in FIELD_CODES.items()}
# Per type, its redactable event fields in code order (`source`, code 1,
# comes first for every type).
REDACTABLE = {
    "party_registered": ["name"],
    "agreement_proposed": ["title", "area", "terms"],
    "agreement_amended": ["terms"],
    "agreement_signed": ["conditions"],
    "agreement_terms_contested": ["statement"],
    "agreement_suspended": ["reason"],
    "agreement_terminated": ["reason"],
    "allegation_retracted": ["reason"],
    "party_key_replaced": ["reason"],
    "violation_alleged": ["description", "location", "casualties", "evidence"],
    "evidence_added": ["evidence"],
    "allegation_responded": ["statement"],
    "allegation_assessed": ["reasoning"],
}

# The export line's own fields, besides the statement's.
EXPORT_FIELDS = ["seq", "recorded_at", "hash", "prev_hash", "stream",
                 "version", "backfilled", "signature", "salts", "redacted",
                 "leaf", "payload"]


def redactable_fields(event_type):
    return ["source"] + REDACTABLE.get(event_type, [])


def field_kind(event_type, name):
    if name == "source":
        return "opt:text"
    for field, kind, _ in TYPE_FIELDS[event_type]:
        if field == name:
            return kind
    return None


def check_id(path, text):
    if not isinstance(text, str):
        fail(path, "expected an identifier (a string)")
    if not text:
        fail(path, "the identifier is empty")
    if len(text.encode("utf-8")) > ID_BYTES_MAX:
        fail(path, "the identifier is longer than %d bytes" % ID_BYTES_MAX)
    for c in text:
        if not (c.isascii() and (c.isalnum() or c in "-_.:")):
            fail(path, "the identifier `%s` contains `%s`" % (text, c))
    return text


# ---------------------------------------------------------------------------
# Time: microseconds since 1970-01-01T00:00:00Z, RFC 3339 in JSON.

def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def days_in_month(y, m):
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return 29 if leap else 28
    return 30 if m in (4, 6, 9, 11) else 31


def parse_time(path, text):
    """The strict RFC 3339 profile of docs/FORMAT.md, to microseconds."""
    if not isinstance(text, str):
        fail(path, "expected an RFC 3339 timestamp (a string)")

    def digits(a, b):
        part = text[a:b]
        return len(part) == b - a and part.isascii() and part.isdigit()

    def at(i, c):
        return text[i:i + 1] == c

    if not (digits(0, 4) and at(4, "-") and digits(5, 7) and at(7, "-") and digits(8, 10)):
        fail(path, "`%s` is not RFC 3339: expected YYYY-MM-DD first" % text)
    if not at(10, "T"):
        fail(path, "`%s` is not RFC 3339: the date and time must be separated by an upper-case `T`" % text)
    if not (digits(11, 13) and at(13, ":") and digits(14, 16) and at(16, ":") and digits(17, 19)):
        fail(path, "`%s` is not RFC 3339: expected hh:mm:ss after the `T`" % text)
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if second == 60:
        fail(path, "`%s`: a leap second (`:60`) is not accepted" % text)
    i, micros = 19, 0
    if at(i, "."):
        start = i + 1
        i = start
        while i < len(text) and text[i].isascii() and text[i].isdigit():
            i += 1
        n = i - start
        if n == 0:
            fail(path, "`%s`: a `.` must be followed by fraction digits" % text)
        if n > 6:
            fail(path, "`%s`: %d fraction digits; at most 6 (microseconds)" % (text, n))
        micros = int(text[start:i].ljust(6, "0"))
    rest = text[i:]
    offset = 0
    if rest == "Z":
        offset = 0
    elif (len(rest) == 6 and rest[0] in "+-" and rest[3] == ":"
          and rest[1:3].isascii() and rest[1:3].isdigit()
          and rest[4:6].isascii() and rest[4:6].isdigit()):
        if rest == "-00:00":
            fail(path, "`%s`: the offset -00:00 means \"offset unknown\"; give Z or the real offset" % text)
        oh, om = int(rest[1:3]), int(rest[4:6])
        if oh > 23 or om > 59:
            fail(path, "`%s`: the offset is out of range" % text)
        offset = (oh * 60 + om) * 60 * (1 if rest[0] == "+" else -1)
    elif rest == "":
        fail(path, "`%s`: the offset is missing: end with `Z` or `+hh:mm`" % text)
    else:
        fail(path, "`%s`: the offset must be an upper-case `Z` or `+hh:mm`" % text)
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)
            and hour <= 23 and minute <= 59):
        fail(path, "`%s` is not a calendar date and time" % text)
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    value = (seconds - offset) * 1_000_000 + micros
    if value < FIRST_MICROS or value > LAST_MICROS:
        fail(path, "`%s` lies outside the UTC years 0000 to 9999" % text)
    return value


def format_time(micros):
    """A timestamp as the ledger prints it (for messages)."""
    if micros < FIRST_MICROS or micros > LAST_MICROS:
        return "@%dus" % micros
    seconds, us = divmod(micros, 1_000_000)
    days, secs = divmod(seconds, 86400)
    y, m, d = civil_from_days(days)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, m, d, secs // 3600, secs // 60 % 60, secs % 60)
    if us % 1000 == 0 and us:
        text += ".%03d" % (us // 1000)
    elif us:
        text += ".%06d" % us
    return text + "Z"


# ---------------------------------------------------------------------------
# Strict JSON (crates/armistice-core/src/json.rs).

def reject_constant(name):
    fail(None, "not valid JSON: %s is not a number JSON has" % name)


def object_pairs(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            fail(key, "is given twice; which one is meant cannot be told")
        if value is None:
            fail(key, "is null; leave an absent field out instead")
        obj[key] = value
    return obj


def check_values(value, path):
    """Every string free of control characters (tab and newline allowed) and
    of lone surrogates; no null in a list; every number finite."""
    if isinstance(value, str):
        for c in value:
            o = ord(c)
            if (o < 0x20 and c not in "\t\n") or 0x7f <= o <= 0x9f:
                fail(path or None, "holds the control character U+%04X; only tab and newline are allowed in text" % o)
            if 0xd800 <= o <= 0xdfff:
                fail(path or None, "holds a lone surrogate U+%04X: not Unicode text" % o)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            fail(path or None, "a number out of range")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if item is None:
                fail(path or None, "null is not a value in a list; leave it out")
            check_values(item, "%s[%d]" % (path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            check_values(key, path)
            check_values(item, key if not path else "%s.%s" % (path, key))


def parse_json_line(text):
    if text.startswith("\ufeff"):
        fail(None, "the line starts with a byte-order mark (U+FEFF)")
    try:
        value = json.loads(text, object_pairs_hook=object_pairs, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        fail(None, "not valid JSON: %s" % e.msg)
    except RecursionError:
        fail(None, "not valid JSON: nested too deeply")
    if not isinstance(value, dict):
        fail(None, "expected a JSON object")
    check_values(value, "")
    return value


def canonical_b64(path, text):
    """Standard base64, padded, with canonical trailing bits."""
    if not isinstance(text, str):
        fail(path, "expected base64 text")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        fail(path, "not base64")
    if base64.b64encode(data).decode("ascii") != text:
        fail(path, "not canonical base64")
    return data


def parse_hex(path, text, size):
    if not isinstance(text, str):
        fail(path, "expected %d hex characters" % (2 * size))
    if len(text) != 2 * size or not all(c in "0123456789abcdefABCDEF" for c in text):
        fail(path, "expected %d hex characters" % (2 * size))
    return bytes.fromhex(text)


def parse_public_key_text(path, text):
    """A key in JSON: 64 hex characters or a verifier key <name>+<id>+<base64>."""
    if not isinstance(text, str):
        fail(path, "expected a public key (a string)")
    if text.startswith("PRIVATE+KEY+"):
        fail(path, "this is a secret key")
    if len(text) == 64:
        return parse_hex(path, text, 32)
    parts = text.split("+", 2)
    if len(parts) != 3:
        fail(path, "neither 64 hex characters nor a verifier key <name>+<key id>+<base64>")
    data = canonical_b64(path, parts[2])
    if len(data) != 33 or data[0] != 1:
        fail(path, "not an Ed25519 verifier key")
    return data[1:]


# ---------------------------------------------------------------------------
# JSON values to the checker's values (what the Rust types hold).

def json_u64(path, value, limit=U64_MAX):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > limit:
        fail(path, "expected an integer from 0 to %d" % limit)
    return value


def json_text(path, value):
    if not isinstance(value, str):
        fail(path, "expected a string")
    return value


def json_f64(path, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(path, "expected a number")
    try:
        return float(value)
    except OverflowError:
        fail(path, "a number out of range")


def json_value(kind, path, value):
    if kind.startswith("opt:"):
        return json_value(kind[4:], path, value)
    if kind.startswith("list:"):
        if not isinstance(value, list):
            fail(path, "expected a list")
        return [json_value(kind[5:], "%s[%d]" % (path, i), v) for i, v in enumerate(value)]
    if kind.startswith("enum:"):
        names = ENUMS[kind[5:]]
        if not isinstance(value, str) or value not in names:
            fail(path, "unknown value %s; expected one of %s" % (json.dumps(value), ", ".join(names)))
        return value
    if kind in ("party", "agreement", "claim"):
        return check_id(path, value)
    if kind == "text":
        return json_text(path, value)
    if kind == "ts":
        return parse_time(path, value)
    if kind == "u64":
        return json_u64(path, value)
    if kind == "key":
        return parse_public_key_text(path, value)
    if kind == "location":
        if not isinstance(value, dict):
            fail(path, "expected an object {name, lat, lon}")
        for key in value:
            if key not in ("name", "lat", "lon"):
                fail("%s.%s" % (path, key), "unknown field")
        if "name" not in value:
            fail(path + ".name", "required field is missing")
        lat = json_f64(path + ".lat", value["lat"]) if "lat" in value else None
        lon = json_f64(path + ".lon", value["lon"]) if "lon" in value else None
        if lat is not None and lon is None:
            fail(path + ".lon", "`lat` is given without `lon`: a coordinate pair needs both")
        if lon is not None and lat is None:
            fail(path + ".lat", "`lon` is given without `lat`: a coordinate pair needs both")
        return {"name": json_text(path + ".name", value["name"]), "lat": lat, "lon": lon}
    if kind == "casualties":
        if not isinstance(value, dict):
            fail(path, "expected an object {killed, injured}")
        for key in value:
            if key not in ("killed", "injured"):
                fail("%s.%s" % (path, key), "unknown field")
        return {k: json_u64("%s.%s" % (path, k), value[k], U32_MAX) if k in value else 0
                for k in ("killed", "injured")}
    if kind == "evidence":
        if not isinstance(value, list):
            fail(path, "expected a list of evidence items")
        items = []
        for i, item in enumerate(value):
            where = "%s[%d]" % (path, i)
            if not isinstance(item, dict):
                fail(where, "expected an object {sha256, media_type, uri, description}")
            for key in item:
                if key not in ("sha256", "media_type", "uri", "description"):
                    fail("%s.%s" % (where, key), "unknown field")
            parsed = {}
            for key in ("sha256", "media_type", "uri", "description"):
                if key not in item:
                    fail("%s.%s" % (where, key), "required field is missing")
                parsed[key] = json_text("%s.%s" % (where, key), item[key])
            items.append(parsed)
        return items
    raise RuntimeError("unknown kind " + kind)


def parse_uuid_text(path, text):
    if not isinstance(text, str):
        fail(path, "expected a UUID (a string)")
    ok = len(text) == 36 and all(
        (c == "-") if i in (8, 13, 18, 23) else (c in "0123456789abcdefABCDEF")
        for i, c in enumerate(text))
    if not ok:
        fail(path, "`%s` is not a UUID in its hyphenated form (8-4-4-4-12 hex digits)" % text)
    value = bytes.fromhex(text.replace("-", ""))
    if value == bytes(16):
        fail(path, "the nil UUID is not an id")
    return value


def uuid_text(value):
    h = value.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def parse_statement(obj, recorded_at):
    """The statement a line states (its fields removed from `obj`), in the
    checker's values; fields absent from the line take the defaults that
    `import` gives them."""
    if "type" not in obj:
        fail("type", "required field is missing")
    event_type = obj.pop("type")
    if not isinstance(event_type, str) or event_type not in TYPE_FIELDS:
        fail("type", "unknown event type %s" % json.dumps(event_type))
    if "event_id" not in obj:
        fail("event_id", "required field is missing (an export line always has it)")
    statement = {"type": event_type, "event_id": parse_uuid_text("event_id", obj.pop("event_id"))}
    if "by" not in obj:
        fail("by", "required field is missing")
    statement["by"] = check_id("by", obj.pop("by"))
    statement["occurred_at"] = parse_time("occurred_at", obj.pop("occurred_at")) \
        if "occurred_at" in obj else recorded_at
    statement["source"] = json_text("source", obj.pop("source")) if "source" in obj else None
    if event_type == "violation_alleged" and "claim" not in obj:
        obj["claim"] = uuid_text(statement["event_id"])
    for name, kind, default in TYPE_FIELDS[event_type]:
        if name in obj:
            statement[name] = json_value(kind, name, obj.pop(name))
        elif default is REQUIRED:
            fail(name, "required field is missing")
        else:
            statement[name] = list(default) if isinstance(default, list) else default
    for key in obj:
        fail(key, "unknown field for a `%s` line" % event_type)
    return statement


# ---------------------------------------------------------------------------
# bincode 2, standard configuration: the payload's encoding.

class Reader:
    def __init__(self, data, what):
        self.data, self.at, self.what = data, 0, what

    def take(self, n):
        if n < 0 or self.at + n > len(self.data):
            fail(self.what, "ends early: %d bytes, more needed at byte %d" % (len(self.data), self.at))
        part = self.data[self.at:self.at + n]
        self.at += n
        return part

    def u8(self):
        return self.take(1)[0]

    def be_u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def be_i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def varint(self, bits=64):
        """An unsigned varint: < 251 in one byte; 251/252/253 then u16/u32/u64
        little-endian. Armistice writes the shortest form; no other is read."""
        first = self.u8()
        if first < 251:
            return first
        widths = {251: (2, "<H", 251), 252: (4, "<I", 2 ** 16), 253: (8, "<Q", 2 ** 32)}
        if first not in widths or widths[first][0] * 8 > bits:
            fail(self.what, "invalid integer marker %d at byte %d" % (first, self.at - 1))
        size, fmt, least = widths[first]
        value = struct.unpack(fmt, self.take(size))[0]
        if value < least:
            fail(self.what, "an integer at byte %d is not in its shortest form" % (self.at - size - 1))
        return value

    def i64(self):
        z = self.varint(64)
        return (z >> 1) ^ -(z & 1)

    def string(self):
        n = self.varint(64)
        raw = self.take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            fail(self.what, "a string is not UTF-8")

    def option(self, read):
        tag = self.u8()
        if tag == 0:
            return None
        if tag == 1:
            return read()
        fail(self.what, "invalid option tag %d at byte %d" % (tag, self.at - 1))

    def count(self):
        n = self.varint(64)
        if n > len(self.data) - self.at:
            fail(self.what, "a list of %d items cannot fit in the bytes left" % n)
        return n

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def end(self):
        if self.at != len(self.data):
            fail(self.what, "%d trailing bytes" % (len(self.data) - self.at))


def read_kind(r, kind):
    if kind.startswith("opt:"):
        return r.option(lambda: read_kind(r, kind[4:]))
    if kind.startswith("list:"):
        return [read_kind(r, kind[5:]) for _ in range(r.count())]
    if kind.startswith("enum:"):
        names = ENUMS[kind[5:]]
        index = r.varint(32)
        if index >= len(names):
            fail(r.what, "unknown %s value %d" % (kind[5:], index))
        return names[index]
    if kind in ("party", "agreement", "claim"):
        try:
            return check_id(kind, r.string())
        except Bad as e:
            fail(r.what, "an invalid %s id: %s" % (kind, e.reason))
    if kind == "text":
        return r.string()
    if kind == "ts":
        return r.i64()
    if kind == "u64":
        return r.varint(64)
    if kind == "key":
        return r.take(32)
    if kind == "location":
        name = r.string()
        lat = r.option(r.f64)
        lon = r.option(r.f64)
        return {"name": name, "lat": lat, "lon": lon}
    if kind == "casualties":
        return {"killed": r.varint(32), "injured": r.varint(32)}
    if kind == "evidence":
        return [{"sha256": r.string(), "media_type": r.string(), "uri": r.string(),
                 "description": r.string()} for _ in range(r.count())]
    raise RuntimeError("unknown kind " + kind)


def read_statement(r, schema):
    """A `Statement`: event_id (length 16 + bytes), by, occurred_at, source
    (option), then the event: variant index and the variant's fields."""
    if r.varint(64) != 16:
        fail(r.what, "the event_id is not 16 bytes")
    statement = {"event_id": r.take(16)}
    statement["by"] = read_kind(r, "party")
    statement["occurred_at"] = r.i64()
    statement["source"] = r.option(r.string)
    variant = r.varint(32)
    limit = SCHEMA_1_TYPES if schema == 1 else len(EVENTS)
    if variant >= limit:
        fail(r.what, "unknown event variant %d for schema %d" % (variant, schema))
    event_type, fields = EVENTS[variant]
    statement["type"] = event_type
    for name, kind, _ in fields:
        statement[name] = read_kind(r, kind)
    return statement


def decode_payload_v2(data):
    """A `CommittedPayload`: the skeleton statement, then the commitments
    (a list of (field code u8, digest 32 bytes))."""
    r = Reader(data, "payload")
    skeleton = read_statement(r, 2)
    commitments = []
    for _ in range(r.count()):
        code = r.u8()
        commitments.append((code, r.take(32)))
    r.end()
    check_canonical(skeleton, commitments)
    return skeleton, commitments


def decode_payload_v1(data):
    r = Reader(data, "payload")
    statement = read_statement(r, 1)
    r.end()
    return statement


def skeleton_presence(kind, value):
    """True: present and blank; False: absent; None: not blank (not canonical)."""
    if kind == "text":
        return True if value == "" else None
    if kind == "opt:text":
        if value is None:
            return False
        return True if value == "" else None
    if kind == "location":
        blank = value["name"] == "" and value["lat"] is None and value["lon"] is None
        return True if blank else None
    if kind == "opt:casualties":
        return False if value is None else None
    if kind == "evidence":
        blank = all(i["uri"] == "" and i["description"] == "" for i in value)
        return bool(value) if blank else None
    raise RuntimeError("unknown redactable kind " + kind)


def check_canonical(skeleton, commitments):
    """Every redactable field blank in the skeleton, one commitment per field
    present, in code order, nothing else (casualties: absent from every
    skeleton, the commitment alone says they exist)."""
    event_type = skeleton["type"]
    rest = list(commitments)
    for name in redactable_fields(event_type):
        code = FIELD_CODES[name]
        presence = skeleton_presence(field_kind(event_type, name), skeleton[name])
        committed = bool(rest) and rest[0][0] == code
        if committed:
            rest.pop(0)
        if presence is None:
            fail("payload", "not canonical: `%s` is not blank in the payload" % name)
        if presence and not committed:
            fail("payload", "not canonical: `%s` is present without a commitment" % name)
        if not presence and committed and name != "casualties":
            fail("payload", "not canonical: `%s` is committed but absent" % name)
    if rest:
        fail("payload", "not canonical: commitment with code %d is out of order or not a field of this statement" % rest[0][0])


def enc_varint(n):
    if n < 251:
        return bytes([n])
    if n < 2 ** 16:
        return b"\xfb" + struct.pack("<H", n)
    if n < 2 ** 32:
        return b"\xfc" + struct.pack("<I", n)
    return b"\xfd" + struct.pack("<Q", n)


def enc_string(text):
    raw = text.encode("utf-8")
    return enc_varint(len(raw)) + raw


def enc_opt_f64(value):
    return b"\x00" if value is None else b"\x01" + struct.pack("<d", value)


def disclosure_value(name, value):
    """The bytes a field's digest covers (docs/FORMAT.md, Disclosures)."""
    if name == "location":
        return enc_string(value["name"]) + enc_opt_f64(value["lat"]) + enc_opt_f64(value["lon"])
    if name == "casualties":
        return enc_varint(value["killed"]) + enc_varint(value["injured"])
    if name == "evidence":
        return enc_varint(len(value)) + b"".join(
            enc_string(i["uri"]) + enc_string(i["description"]) for i in value)
    return enc_string(value)


def disclosure_digest(name, salt, value):
    return sha256(DISCLOSURE_DOMAIN + bytes([FIELD_CODES[name]]) + salt + disclosure_value(name, value))


def redacted_form(name, skeleton_value):
    """What a redacted field reads."""
    if name == "location":
        return {"name": REDACTED_TEXT, "lat": None, "lon": None}
    if name == "casualties":
        return None
    if name == "evidence":
        return [{"sha256": i["sha256"], "media_type": i["media_type"],
                 "uri": REDACTED_TEXT, "description": REDACTED_TEXT} for i in skeleton_value]
    return REDACTED_TEXT


# ---------------------------------------------------------------------------
# The leaf (entry header).

def decode_leaf(data):
    r = Reader(data, "leaf")
    header = {"schema": r.u8()}
    if header["schema"] not in (1, 2):
        fail("leaf", "unknown schema version %d" % header["schema"])
    flags = r.u8()
    if flags & ~(FLAG_BACKFILLED | FLAG_SIGNED):
        fail("leaf", "unknown flag bits 0x%02x" % flags)
    code = r.u8()
    limit = SCHEMA_1_TYPES if header["schema"] == 1 else len(EVENTS)
    if not 1 <= code <= limit:
        fail("leaf", "unknown event type code %d" % code)
    header["type"] = TYPE_NAMES[code - 1]
    header["backfilled"] = bool(flags & FLAG_BACKFILLED)
    header["seq"] = r.be_u64()
    header["recorded_at"] = r.be_i64()
    header["occurred_at"] = r.be_i64()
    header["event_id"] = r.take(16)
    header["version"] = r.be_u64()
    header["prev_hash"] = r.take(32)
    header["payload_sha256"] = r.take(32)
    stream = r.take(r.u8())
    by = r.take(r.u8())
    try:
        header["stream"] = stream.decode("utf-8")
        header["by"] = by.decode("utf-8")
    except UnicodeDecodeError:
        fail("leaf", "a text field of the leaf is not UTF-8")
    try:
        check_id("by", header["by"])
    except Bad:
        fail("leaf", "invalid `by` in the leaf")
    header["signature"] = r.take(64) if flags & FLAG_SIGNED else None
    r.end()
    return header


def stream_of(statement):
    t = statement["type"]
    if t == "party_registered" or t == "party_key_replaced":
        return "party/" + statement["party"]
    if t == "party_key_rotated":
        return "party/" + statement["by"]
    if t in ("entry_redacted", "operator_key_rotated"):
        return "ledger"
    if "claim" in statement:
        return "claim/" + statement["claim"]
    return "agreement/" + statement["agreement"]


# ---------------------------------------------------------------------------
# Ed25519 (RFC 8032), verification only, after the public-domain reference
# code of RFC 8032 section 6, made strict like ed25519-dalek's
# `verify_strict`: S must be below L; R and A must be canonical encodings
# (y < p, no "negative zero" x) of points on the curve that are not of small
# order; the check is the cofactorless [S]B = R + [k]A.

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def point_add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % P
    c = 2 * p1[3] * p2[3] * D % P
    d = 2 * p1[2] * p2[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(s, point):
    result = IDENTITY
    while s > 0:
        if s & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        s >>= 1
    return result


def point_equal(p1, p2):
    return ((p1[0] * p2[2] - p2[0] * p1[2]) % P == 0
            and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0)


def recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def point_decode(data):
    """A point from its 32-byte encoding, or None when not canonical or not on the curve."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


B_Y = 4 * pow(5, P - 2, P) % P
B_POINT = (recover_x(B_Y, 0), B_Y, 1, recover_x(B_Y, 0) * B_Y % P)


def small_order(point):
    return point_equal(point_mul(8, point), IDENTITY)


def key_problem(public):
    """Why 32 bytes are not a usable Ed25519 public key, or None."""
    point = point_decode(public)
    if point is None:
        return "not a canonical encoding of a point on the curve"
    if small_order(point):
        return "a point of small order (a weak key)"
    return None


def ed25519_problem(public, message, signature):
    """Why `signature` does not verify strictly, or None when it does."""
    if len(signature) != 64:
        return "a signature is 64 bytes, not %d" % len(signature)
    problem = key_problem(public)
    if problem:
        return "the public key is " + problem
    r_point = point_decode(signature[:32])
    if r_point is None:
        return "its R is not a canonical encoding of a point on the curve"
    if small_order(r_point):
        return "its R is of small order"
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return "its S is not reduced below the group order (a malleable encoding)"
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    if not point_equal(point_mul(s, B_POINT), point_add(r_point, point_mul(k, point_decode(public)))):
        return "it was made by another key or over other bytes"
    return None


def self_test():
    """RFC 8032 section 7.1, test 1; and a non-reduced S is refused."""
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    if ed25519_problem(public, b"", signature) is not None:
        return False
    s = (int.from_bytes(signature[32:], "little") + L).to_bytes(32, "little")
    return ed25519_problem(public, b"", signature[:32] + s) is not None


# ---------------------------------------------------------------------------
# Keys and checkpoints (C2SP signed-note, tlog-checkpoint).

def is_control(c):
    o = ord(c)
    return o < 0x20 or 0x7f <= o <= 0x9f


def valid_key_name(name):
    return bool(name) and not any(c.isspace() or is_control(c) or c == "+" for c in name)


def key_id(name, public):
    return sha256(name.encode("utf-8") + b"\n\x01" + public)[:4]


def parse_verifier(text, default_name):
    """--key: <name>+<id>+<base64(0x01 || key)>, or 64 hex (named default_name)."""
    text = text.strip()
    if text.startswith("PRIVATE+KEY+"):
        raise UsageError("--key: this is a secret (signer) key; give the verifier key (operator.vkey)")
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        name, public = default_name, bytes.fromhex(text)
    else:
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise UsageError("--key: expected a verifier key <name>+<key id>+<base64>, 64 hex characters, or a file holding one")
        name, hex_id, encoded = parts
        if not valid_key_name(name):
            raise UsageError("--key: invalid key name %r" % name)
        if len(hex_id) != 8 or not all(c in "0123456789abcdefABCDEF" for c in hex_id):
            raise UsageError("--key: the key id is not 8 hex characters")
        try:
            data = canonical_b64("key", encoded)
        except Bad:
            raise UsageError("--key: the key is not canonical base64")
        if len(data) != 33 or data[0] != 1:
            raise UsageError("--key: not an Ed25519 verifier key")
        public = data[1:]
        if key_id(name, public) != bytes.fromhex(hex_id):
            raise UsageError("--key: its key id does not match its name and key")
    problem = key_problem(public)
    if problem:
        raise UsageError("--key: the key is %s" % problem)
    return name, public


def parse_note(path, text):
    """A signed checkpoint note, parsed strictly (signatures not yet checked)."""
    if any(is_control(c) and c != "\n" for c in text):
        fail(None, "the note holds a control character other than newline")
    split = text.rfind("\n\n")
    if split < 0:
        fail(None, "no signature block after a blank line")
    body, block = text[:split + 1], text[split + 2:]
    if not block.endswith("\n") or block == "\n" or not block:
        fail(None, "no signature block after a blank line")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith("\u2014 ") or " " not in line[2:]:
            fail(None, "malformed signature line %r" % line)
        name, encoded = line[2:].split(" ", 1)
        if not valid_key_name(name):
            fail(None, "malformed signature line %r" % line)
        try:
            blob = canonical_b64(None, encoded)
        except Bad:
            fail(None, "malformed signature line %r" % line)
        if len(blob) < 5:
            fail(None, "malformed signature line %r" % line)
        signatures.append((name, blob[:4], blob[4:]))
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        fail(None, "the body must have origin, size and root lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin or any(is_control(c) for c in origin):
        fail(None, "invalid origin line")
    if not (size_text.isascii() and size_text.isdigit() and (size_text == "0" or size_text[0] != "0")) \
            or int(size_text) > U64_MAX:
        fail(None, "invalid tree size %r" % size_text)
    try:
        root = canonical_b64(None, root_text)
    except Bad:
        fail(None, "invalid root hash %r" % root_text)
    if len(root) != 32:
        fail(None, "invalid root hash %r" % root_text)
    for extension in lines[3:]:
        if not extension:
            fail(None, "an empty extension line")
    return {"path": path, "origin": origin, "size": int(size_text), "root": root,
            "body": body.encode("utf-8"), "signatures": signatures}


def note_problem(note, name, public):
    """Why the note is not signed by key `name`/`public`, or None."""
    wanted = key_id(name, public)
    found = False
    for sig_name, sig_id, signature in note["signatures"]:
        if sig_name == name and sig_id == wanted:
            found = True
            problem = ed25519_problem(public, note["body"], signature)
            if problem:
                return "the signature by `%s` does not verify: %s" % (name, problem)
    if not found:
        named = ", ".join("`%s` (key id %s)" % (n, i.hex()) for n, i, _ in note["signatures"])
        return "no signature by `%s` (key id %s); the note is signed by %s" % (name, wanted.hex(), named)
    return None


# ---------------------------------------------------------------------------
# RFC 6962 / RFC 9162 Merkle tree.

def leaf_hash(leaf):
    return sha256(b"\x00" + leaf)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes):
    if not hashes:
        return sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def audit_path(index, hashes):
    if len(hashes) <= 1:
        return []
    k = split_point(len(hashes))
    if index < k:
        return audit_path(index, hashes[:k]) + [mth(hashes[k:])]
    return audit_path(index - k, hashes[k:]) + [mth(hashes[:k])]


def root_from_path(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or None."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


# ---------------------------------------------------------------------------
# The export, line by line.

def first_difference(a, b, path=""):
    """The first path at which two checker values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return path + key if not path else "%s.%s" % (path, key)
            inner = key if not path else "%s.%s" % (path, key)
            found = first_difference(a[key], b[key], inner)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, "%s[%d]" % (path, i))
            if found:
                return found
        return None
    if type(a) is not type(b) or a != b:
        return path
    return None


class Export:
    def __init__(self, operator_name, operator_key):
        self.operator_name = operator_name
        self.operator_keys = [(1, operator_key)]     # (first seq it signs, key)
        self.party_keys = {}                         # party -> key or None
        self.prev_hash = GENESIS_HASH
        self.prev_recorded_at = None
        self.seq = 0
        self.versions = {}
        self.event_ids = {}
        self.leaves = []
        self.entries = {}          # seq -> what later lines need of it
        self.redactions = {}       # target seq -> [(line, seq, fields)]
        self.signatures = 0
        self.warnings = []

    def operator_key_for(self, seq):
        key = self.operator_keys[0][1]
        for first, k in self.operator_keys:
            if first <= seq:
                key = k
        return key

    def warn(self, line, text):
        self.warnings.append("warning: line %d: %s" % (line, text))

    def check_line(self, line, text):
        obj = parse_json_line(text)
        # The export line's own fields.
        if "seq" not in obj:
            fail("seq", "required field is missing (an export line always has it)")
        seq = json_u64("seq", obj.pop("seq"))
        if "hash" not in obj:
            fail("hash", "required field is missing (an export line always has it)")
        hash_ = parse_hex("hash", obj.pop("hash"), 32)
        if "leaf" not in obj:
            fail("leaf", "required field is missing (an export line always has it)")
        leaf = canonical_b64("leaf", obj.pop("leaf"))
        header = decode_leaf(leaf)
        if sha256(leaf) != hash_:
            fail("hash", "is not SHA-256 of the leaf (%s)" % sha256(leaf).hex())
        expected_seq = self.seq + 1
        if seq != expected_seq:
            fail("seq", "the line says %d, but the export's entries run gap-free from 1 and this is entry %d" % (seq, expected_seq))
        if header["seq"] != seq:
            fail("seq", "the leaf says seq %d" % header["seq"])
        if header["prev_hash"] != self.prev_hash:
            fail("prev_hash", "the leaf's prev_hash %s is not the previous entry's hash %s: the chain is broken"
                 % (header["prev_hash"].hex(), self.prev_hash.hex()))
        if "prev_hash" not in obj:
            fail("prev_hash", "required field is missing (an export line always has it)")
        if parse_hex("prev_hash", obj.pop("prev_hash"), 32) != header["prev_hash"]:
            fail("prev_hash", "differs from the leaf's")
        if self.prev_recorded_at is not None and header["recorded_at"] < self.prev_recorded_at:
            fail("recorded_at", "%s is earlier than the previous entry's %s"
                 % (format_time(header["recorded_at"]), format_time(self.prev_recorded_at)))
        if "recorded_at" not in obj:
            fail("recorded_at", "required field is missing (an export line always has it)")
        if parse_time("recorded_at", obj.pop("recorded_at")) != header["recorded_at"]:
            fail("recorded_at", "differs from the leaf's %s" % format_time(header["recorded_at"]))
        if "stream" not in obj:
            fail("stream", "required field is missing (an export line always has it)")
        if json_text("stream", obj.pop("stream")) != header["stream"]:
            fail("stream", "differs from the leaf's `%s`" % header["stream"])
        if "version" not in obj:
            fail("version", "required field is missing (an export line always has it)")
        if json_u64("version", obj.pop("version")) != header["version"]:
            fail("version", "differs from the leaf's %d" % header["version"])
        expected_version = self.versions.get(header["stream"], 0) + 1
        if header["version"] != expected_version:
            fail("version", "entry %d is version %d of `%s`, but the export holds %d before it"
                 % (seq, header["version"], header["stream"], expected_version - 1))
        backfilled = obj.pop("backfilled", False)
        if not isinstance(backfilled, bool):
            fail("backfilled", "expected true or false")
        if backfilled != header["backfilled"]:
            fail("backfilled", "the leaf says %s" % ("backfilled" if header["backfilled"] else "not backfilled"))
        signature = obj.pop("signature", None)
        if signature is not None:
            signature = parse_hex("signature", signature, 64)
        if signature != header["signature"]:
            fail("signature", "differs from the signature in the leaf" if header["signature"]
                 else "the leaf holds no signature")
        salts_value = obj.pop("salts", None)
        redacted_value = obj.pop("redacted", None)
        payload_text = obj.pop("payload", None)
        if "expected_version" in obj:
            fail("expected_version", "an input-only field; an export line never has it")
        if isinstance(obj.get("type"), str) and obj["type"] in TYPE_FIELDS and obj["type"] != header["type"]:
            fail("type", "differs from the leaf's `%s`" % header["type"])
        statement = parse_statement(obj, header["recorded_at"])

        # The header and the statement the line shows.
        if header["event_id"] != statement["event_id"]:
            fail("event_id", "differs from the leaf's %s" % uuid_text(header["event_id"]))
        if header["by"] != statement["by"]:
            fail("by", "differs from the leaf's `%s`" % header["by"])
        if header["occurred_at"] != statement["occurred_at"]:
            fail("occurred_at", "differs from the leaf's %s" % format_time(header["occurred_at"]))
        if header["type"] != statement["type"]:
            fail("type", "differs from the leaf's `%s`" % header["type"])
        if stream_of(statement) != header["stream"]:
            fail("stream", "the leaf's `%s` is not the stream of this statement (`%s`)"
                 % (header["stream"], stream_of(statement)))
        if statement["event_id"] in self.event_ids:
            fail("event_id", "%s is already the id of seq %d" % (uuid_text(statement["event_id"]), self.event_ids[statement["event_id"]]))

        if header["schema"] == 2:
            payload, shown_redacted, committed = self.check_v2(statement, header, salts_value, redacted_value, payload_text)
            legacy_redacted = False
        else:
            payload, legacy_redacted = self.check_v1(line, statement, header, salts_value, redacted_value, payload_text)
            shown_redacted, committed = (["*"] if legacy_redacted else []), []

        self.check_author(line, statement, header, payload)
        if statement["type"] == "entry_redacted":
            self.check_redaction(line, seq, header["schema"], statement)

        # Learn what later lines need.
        self.learn(statement, seq)
        self.seq = seq
        self.prev_hash = hash_
        self.prev_recorded_at = header["recorded_at"]
        self.versions[header["stream"]] = header["version"]
        self.event_ids[statement["event_id"]] = seq
        self.leaves.append(leaf_hash(leaf))
        self.entries[seq] = {"line": line, "schema": header["schema"], "type": statement["type"],
                             "committed": committed, "redacted": shown_redacted}

    def check_v2(self, statement, header, salts_value, redacted_value, payload_text):
        if payload_text is None:
            fail("payload", "required field is missing (a format 2 export line always has it)")
        payload = canonical_b64("payload", payload_text)
        if sha256(payload) != header["payload_sha256"]:
            fail("payload", "its SHA-256 is not the payload digest in the leaf")
        skeleton, commitments = decode_payload_v2(payload)
        for name in ("event_id", "by", "occurred_at", "type"):
            if skeleton[name] != header[name]:
                fail(name, "the leaf and the payload disagree on it")
        if stream_of(skeleton) != header["stream"]:
            fail("stream", "the leaf and the payload disagree on it")
        committed = [FIELD_NAMES[code] for code, _ in commitments]
        digests = dict((FIELD_NAMES[code], digest) for code, digest in commitments)
        salts = {}
        if salts_value is not None:
            if not isinstance(salts_value, dict):
                fail("salts", "expected an object of field name to 32 hex characters")
            for name, salt in salts_value.items():
                if name not in FIELD_CODES:
                    fail("salts." + name, "not a redactable field")
                if name not in digests:
                    fail("salts." + name, "this entry commits no `%s`" % name)
                salts[name] = parse_hex("salts." + name, salt, 16)
        shown = []
        if redacted_value is not None:
            if not isinstance(redacted_value, list) or not redacted_value \
                    or not all(isinstance(n, str) for n in redacted_value):
                fail("redacted", "expected a non-empty list of field names")
            for name in redacted_value:
                if name not in FIELD_CODES:
                    fail("redacted", "`%s` is not a redactable field" % name)
                if name not in digests:
                    fail("redacted", "this entry commits no `%s`" % name)
                if name in shown:
                    fail("redacted", "`%s` is listed twice" % name)
                shown.append(name)
            if shown != [n for n in committed if n in shown]:
                fail("redacted", "the fields are not in code order (as the export lists them)")
        proven = dict(skeleton)
        for name in committed:
            if name in salts:
                if name in shown:
                    fail("redacted", "`%s` has a salt, yet is listed as redacted" % name)
                value = statement[name]
                if value is None:
                    fail(name, "the entry commits a value, the line shows none")
                if name == "evidence":
                    if len(value) != len(skeleton["evidence"]):
                        fail("evidence", "the line lists %d items, the entry %d" % (len(value), len(skeleton["evidence"])))
                    value = [{"sha256": s["sha256"], "media_type": s["media_type"],
                              "uri": v["uri"], "description": v["description"]}
                             for s, v in zip(skeleton["evidence"], value)]
                if disclosure_digest(name, salts[name], statement[name]) != digests[name]:
                    fail(name, "does not match the digest the entry's payload commits to: the field was changed")
                proven[name] = value
            else:
                if name not in shown:
                    fail(name, "has neither a salt (to prove it) nor a place in `redacted`")
                proven[name] = redacted_form(name, skeleton.get(name))
        difference = first_difference(statement, proven)
        if difference:
            fail(difference, "differs from what the entry's leaf and payload prove")
        return payload, shown, committed

    def check_v1(self, line, statement, header, salts_value, redacted_value, payload_text):
        if salts_value is not None:
            fail("salts", "a format 1 entry has no salts")
        if redacted_value is not None and redacted_value is not True:
            fail("redacted", "a format 1 entry marks its redaction `true`, not with a list")
        if redacted_value is True:
            if payload_text is not None:
                fail("payload", "a redacted format 1 entry has no payload any more")
            self.warn(line, "entry %d is of format 1 and was redacted: its payload is gone, so its statement "
                            "fields (beyond the leaf's type, event_id, by, occurred_at and stream) and its "
                            "signature cannot be proven" % header["seq"])
            return None, True
        if payload_text is None:
            fail("payload", "required field is missing (an unredacted export line always has it)")
        payload = canonical_b64("payload", payload_text)
        if sha256(payload) != header["payload_sha256"]:
            fail("payload", "its SHA-256 is not the payload digest in the leaf")
        proven = decode_payload_v1(payload)
        for name in ("event_id", "by", "occurred_at", "type"):
            if proven[name] != header[name]:
                fail(name, "the leaf and the payload disagree on it")
        difference = first_difference(statement, proven)
        if difference:
            fail(difference, "differs from what the entry's leaf and payload prove")
        return payload, False

    def check_author(self, line, statement, header, payload):
        by, event_type, seq = statement["by"], statement["type"], header["seq"]
        signature = header["signature"]
        if by == OPERATOR:
            if event_type not in OPERATOR_TYPES:
                fail("by", "the operator does not make `%s` statements" % event_type)
            key = self.operator_key_for(seq)
            if signature is None:
                fail("signature", "an operator statement is signed by the operator key in force, and this one is not signed")
            whose = "the operator key in force at seq %d" % seq
        else:
            if event_type in OPERATOR_TYPES:
                fail("by", "only `operator` makes `%s` statements" % event_type)
            if by not in self.party_keys:
                fail("by", "`%s` is not a party registered earlier in the export" % by)
            key = self.party_keys[by]
            if key is None and signature is not None:
                fail("signature", "party `%s` has no registered key to check it against" % by)
            if key is not None and signature is None:
                fail("signature", "party `%s` has a registered key, so its statements must be signed" % by)
            if key is None:
                return
            whose = "the key `%s` had registered then" % by
        if payload is None:
            return   # a format 1 redacted entry: warned about already
        problem = ed25519_problem(key, STATEMENT_DOMAIN[header["schema"]] + payload, signature)
        if problem:
            fail("signature", "does not verify under %s: %s" % (whose, problem))
        self.signatures += 1

    def check_redaction(self, line, seq, schema, statement):
        target = statement["target_seq"]
        if target < 1 or target >= seq:
            fail("target_seq", "no entry %d before this one to redact" % target)
        entry = self.entries[target]
        if entry["type"] == "entry_redacted":
            fail("target_seq", "a redaction cannot itself be redacted")
        names = statement["fields"]
        if entry["schema"] == 1:
            if entry["redacted"] != ["*"]:
                fail("target_seq", "entry %d (line %d) is shown unredacted, yet this redaction targets it" % (target, entry["line"]))
        else:
            if not names:
                fail("fields", "list is empty: a redaction names its fields")
            for i, name in enumerate(names):
                if name not in FIELD_CODES:
                    fail("fields", "`%s` is not a redactable field" % name)
                if name in names[:i]:
                    fail("fields", "`%s` is listed twice" % name)
                if name not in entry["committed"]:
                    fail("fields", "entry %d has no `%s` to redact" % (target, name))
                for _, earlier_seq, earlier in self.redactions.get(target, []):
                    if name in earlier:
                        fail("fields", "`%s` of entry %d was already redacted at seq %d" % (name, target, earlier_seq))
                if name not in entry["redacted"]:
                    fail("fields", "`%s` of entry %d is redacted here, yet line %d still shows it" % (name, target, entry["line"]))
        self.redactions.setdefault(target, []).append((line, seq, list(names)))

    def learn(self, statement, seq):
        t = statement["type"]
        if t == "party_registered":
            key = statement["public_key"]
            if key is not None and key_problem(key):
                fail("public_key", "is %s" % key_problem(key))
            self.party_keys[statement["party"]] = key
        elif t in ("party_key_rotated", "party_key_replaced", "operator_key_rotated"):
            key = statement["public_key"]
            if key_problem(key):
                fail("public_key", "is %s" % key_problem(key))
            if t == "party_key_rotated":
                self.party_keys[statement["by"]] = key
            elif t == "party_key_replaced":
                self.party_keys[statement["party"]] = key
            else:
                self.operator_keys.append((seq + 1, key))

    def check_coverage(self):
        """Every entry shown redacted is covered by the `entry_redacted`
        entries that target it: exactly the fields it shows redacted."""
        for seq in sorted(self.entries):
            entry = self.entries[seq]
            if not entry["redacted"]:
                continue
            covering = self.redactions.get(seq, [])
            if not covering:
                raise Failed("line %d: field `redacted`: entry %d reads redacted, but no `entry_redacted` in the export "
                             "targets it: its fields would be shown without proof" % (entry["line"], seq))
            if entry["schema"] == 2:
                named = set(n for _, _, fields in covering for n in fields)
                for name in entry["redacted"]:
                    if name not in named:
                        raise Failed("line %d: field `redacted`: `%s` of entry %d reads redacted, but no `entry_redacted` "
                                     "in the export names it" % (entry["line"], name, seq))


def read_lines(path):
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e.strerror or e))


def read_text(path, what):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as e:
        raise UsageError("cannot read %s %s: %s" % (what, path, e.strerror or e))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("%s %s is not UTF-8 text" % (what, path))


def parse_args(argv):
    args = {"export": None, "key": None, "checkpoints": [], "seq": None}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            say(__doc__.strip())
            sys.exit(0)
        if arg in ("--key", "--checkpoint", "--seq"):
            if i + 1 >= len(argv):
                raise UsageError("%s needs a value" % arg)
            value = argv[i + 1]
            i += 2
            if arg == "--key":
                if args["key"] is not None:
                    raise UsageError("--key is given twice")
                args["key"] = value
            elif arg == "--checkpoint":
                args["checkpoints"].append(value)
            else:
                if args["seq"] is not None or not (value.isascii() and value.isdigit()) or int(value) < 1:
                    raise UsageError("--seq takes one entry number (1 or more)")
                args["seq"] = int(value)
            continue
        for name in ("--key=", "--checkpoint=", "--seq="):
            if arg.startswith(name):
                argv = argv[:i] + [name[:-1], arg[len(name):]] + argv[i + 1:]
                break
        else:
            if arg.startswith("-") and arg != "-":
                raise UsageError("unknown option %s" % arg)
            if args["export"] is not None:
                raise UsageError("one export file only (%s and %s given)" % (args["export"], arg))
            args["export"] = arg
            i += 1
    if args["export"] is None:
        raise UsageError("no export file given")
    if args["key"] is None:
        raise UsageError("--key (the operator's verifier key) is required")
    return args


def main(argv):
    args = parse_args(argv)
    if not self_test():
        raise UsageError("internal error: the Ed25519 self-test failed")
    notes = []
    for path in args["checkpoints"]:
        text = read_text(path, "checkpoint")
        try:
            notes.append(parse_note(path, text))
        except Bad as e:
            raise Failed("checkpoint %s: not a checkpoint note: %s" % (path, e.reason))
    key_text = args["key"]
    if os.path.isfile(key_text):
        key_text = read_text(key_text, "key file")
    default_name = notes[0]["origin"] if notes else "armistice"
    name, first_key = parse_verifier(key_text, default_name)

    export = Export(name, first_key)
    number, last_line = 0, 0
    handle = read_lines(args["export"])
    try:
        for raw in handle:
            number += 1
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            try:
                if len(raw) > LINE_BYTES_MAX:
                    fail(None, "longer than %d bytes" % LINE_BYTES_MAX)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    fail(None, "not valid UTF-8")
                text = text.strip(WHITESPACE)
                if not text:
                    continue
                export.check_line(number, text)
                last_line = number
            except Bad as e:
                where = "line %d" % number
                if e.field:
                    where += ": field `%s`" % e.field
                raise Failed("%s: %s" % (where, e.reason))
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if export.seq == 0:
        raise Failed("%s holds no entries" % args["export"])
    export.check_coverage()
    for warning in export.warnings:
        say(warning)
    say("export %s: %d entries; leaves, hashes, chain, payloads, disclosures and every field checked; "
          "%d signatures verified under the key each author had then"
          % (args["export"], export.seq, export.signatures))

    for note in notes:
        size = note["size"]
        key = export.operator_key_for(size + 1)
        if note["origin"] != name:
            raise Failed("checkpoint %s: its origin `%s` is not the operator key's name `%s`" % (note["path"], note["origin"], name))
        problem = note_problem(note, name, key)
        if problem:
            raise Failed("checkpoint %s (size %d): not signed by the operator key in force for that size (%s): %s"
                         % (note["path"], size, key.hex(), problem))
        if size > export.seq:
            raise Failed("checkpoint %s: it covers %d entries but the export ends at line %d (seq %d): entries %d to %d are missing"
                         % (note["path"], size, last_line, export.seq, export.seq + 1, size))
        if mth(export.leaves[:size]) != note["root"]:
            raise Failed("checkpoint %s: the export's first %d entries do not give the checkpoint's root: history was rewritten"
                         % (note["path"], size))
        say("ok: checkpoint %s: signed by the operator; the export's first %d entries reproduce its root: "
              "the ledger has only grown since" % (note["path"], size))
    if not notes:
        say("warning: no --checkpoint given: nothing ties these entries to a tree head the operator signed")

    if args["seq"] is not None:
        if not notes:
            raise UsageError("--seq needs a --checkpoint")
        note = max(notes, key=lambda n: n["size"])
        seq, size = args["seq"], note["size"]
        if seq > size:
            raise UsageError("--seq %d is beyond the largest checkpoint's size %d" % (seq, size))
        proof = audit_path(seq - 1, export.leaves[:size])
        if root_from_path(seq - 1, size, export.leaves[seq - 1], proof) != note["root"]:
            raise Failed("the inclusion proof of entry %d does not lead to the checkpoint's root" % seq)
        say("ok: entry %d is in the tree of %d entries; audit path (leaf index %d):" % (seq, size, seq - 1))
        for node in proof:
            say("  " + node.hex())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        sys.stderr.write("check_export.py: error: %s (%s)\n" % (e, USAGE))
        sys.exit(2)
    except Failed as e:
        sys.stderr.write("check_export.py: FAILED: %s\n" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
