"""The verifier's shortcuts give exactly what the plain definitions give: the canonical JSON of
details read as text (``json.loads`` then ``json.dumps``), the C encoder built once
(``json.dumps``) and the HMAC from prepared key states (``hmac.new``) - on odd values, on random
ones, on the text the database itself hands back, and through a whole verification."""

import hashlib
import hmac
import json
import random

import pytest
from django.db import connection

from portal.audit.chain import _dump_details, canonical_details, event_hasher
from portal.audit.models import AuditEvent
from portal.audit.verify import ChainBroken, verify_chain
from tests.audit.conftest import json_param


def _reference(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Characters JSON escapes, and ones it must leave alone (ensure_ascii=False).
ODD_TEXT = [
    "",
    'say "hi"',
    "back\\slash",
    "\b\f\n\r\t",
    "\x01\x1f\x7f",
    "Zoë, 日本語: ü",
    "\u2028\u2029",
    "😀 emoji",
    "a, b: c",
    "{}",
]

ODD_VALUES = [
    {},
    [],
    {"": ""},
    {"b": 1, "a": 2, "B": 3, "aa": 4, "é": 5, "z": 6, "Z": 7, "10": 8, "9": 9},
    {"name": "acme", "changed": ["name", "email"]},
    {"nested": {"deeper": {"deepest": [1, [2, [3, {}]]]}}, "empty": {}, "none": None},
    {"floats": [0.0, -0.0, 1.5, -2.25, 0.1, 1e-07, 1e16, 1e300, 5e-324, 123456.789]},
    {"ints": [0, -1, 2**63, -(2**63) - 1, 10**40]},
    {"flags": [True, False, None]},
    {text: text for text in ODD_TEXT},
    [ODD_TEXT, {"k": ODD_TEXT}],
    "a string",
    42,
    1.5,
    None,
    True,
]


def _random_value(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "const"] + (["dict", "list"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "dict":
        return {_random_text(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "str":
        return _random_text(rng)
    if kind == "int":
        return rng.choice([rng.randint(-1000, 1000), rng.randint(-(10**30), 10**30)])
    if kind == "float":
        return rng.choice([rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randint(-30, 30)])
    return rng.choice([True, False, None])


def _random_text(rng: random.Random) -> str:
    alphabet = 'ab "\\,:{}[]\n\t\x01\x1fé日😀\u2028'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


RANDOM_VALUES = [_random_value(random.Random(seed)) for seed in range(300)]


@pytest.mark.parametrize("value", ODD_VALUES + RANDOM_VALUES)
def test_the_prepared_encoder_writes_what_json_dumps_writes(value):
    assert _dump_details(value) == _reference(value)


@pytest.mark.parametrize("value", ODD_VALUES + RANDOM_VALUES)
@pytest.mark.parametrize(
    "dump",
    [
        json.dumps,  # spaced like PostgreSQL's jsonb text
        lambda value: json.dumps(value, sort_keys=True, separators=(",", ":")),  # canonical
        lambda value: json.dumps(value, indent=2),  # line breaks
        lambda value: f" \n{json.dumps(value)}\t ",  # whitespace around the value
    ],
)
def test_details_text_becomes_what_loads_then_dumps_make(value, dump):
    text = dump(value)
    assert canonical_details(text) == _reference(json.loads(text))


@pytest.mark.parametrize("text", ["", " ", "{", '{"a": 1', "{} {}", "{}x", "nul", "'a'", "[1,]"])
def test_text_that_is_not_json_fails_as_json_loads_fails(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        canonical_details(text)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("text", ["NaN", "[Infinity, -Infinity]", '{"a": 1, "a": 2}'])
def test_what_json_loads_accepts_beyond_strict_json_is_read_the_same(text):
    assert canonical_details(text) == _reference(json.loads(text))


@pytest.mark.parametrize("key", ["k", "test-audit-key", "x" * 64, "y" * 65, "z" * 300, "ключ"])
@pytest.mark.parametrize(
    "message", [b"", b"m", b"0" * 64 + b'{"action":"x"}', bytes(range(256)) * 9]
)
def test_the_event_hasher_is_hmac_sha256_under_the_audit_key(settings, key, message):
    settings.PORTAL_AUDIT_KEY = key
    expected = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    assert event_hasher()(message) == expected


# Through the database: the text it hands back for details (PostgreSQL's jsonb re-orders keys
# and spaces items its own way) gives what json.loads + json.dumps give.


@pytest.mark.django_db
@pytest.mark.parametrize("value", ODD_VALUES + RANDOM_VALUES[:60])
def test_the_databases_details_text_becomes_what_loads_then_dumps_make(value):
    if connection.vendor == "postgresql":
        sql = "SELECT CAST(CAST(%s AS jsonb) AS text)"
    else:
        sql = "SELECT CAST(%s AS text)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(value)])
        text = cursor.fetchone()[0]
    assert canonical_details(text) == _reference(json.loads(text))


# Floats of 1e16 and more are left out of whole chains: PostgreSQL's jsonb prints them as
# integers, so json.loads reads back an int and not what was hashed (the writer's business).
CHAIN_DETAILS = [
    {},
    {"name": "acme", "changed": ["name", "email"]},
    {"nested": {"b": [1, {"c": None}], "a": "ü"}, "n": 10**30, "f": [0.1, -2.5, 1e-07]},
    {text or "empty": text for text in ODD_TEXT},
    {"b": 1, "a": 2, "aa": 3, "é": 4, "Z": 5, "10": 6, "9": 7},
]


@pytest.mark.django_db(transaction=True)
def test_a_chain_of_odd_details_verifies_and_each_altered_one_is_found(append, raw_sql):
    for details in CHAIN_DETAILS:
        append(1, details=details)
    assert verify_chain().count == len(CHAIN_DETAILS)
    for seq in range(1, len(CHAIN_DETAILS) + 1):
        stored = AuditEvent.objects.get(seq=seq).details
        altered = {**stored, "extra": "é"} if stored else {"": ""}
        raw_sql(
            f"UPDATE {{table}} SET details = {json_param()} WHERE seq = %s",
            [json.dumps(altered), seq],
        )
        with pytest.raises(ChainBroken) as info:
            verify_chain()
        assert (info.value.seq, info.value.reason) == (
            seq,
            "hash mismatch: the event was altered or moved",
        )
        raw_sql(
            f"UPDATE {{table}} SET details = {json_param()} WHERE seq = %s",
            [json.dumps(stored), seq],
        )
    assert verify_chain().count == len(CHAIN_DETAILS)
