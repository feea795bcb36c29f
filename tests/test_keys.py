"""The access-key value type and the bad input a learner can paste."""

from __future__ import annotations

import pickle
import random
import string
from datetime import datetime, timezone

import IPython.lib.pretty
import pytest

from labkit.keys import (
    EXAMPLE_KEY_ID,
    EXAMPLE_SECRET,
    AccessKey,
    KeyFormatError,
    mask_key_id,
    mask_secret,
    validate_key_id,
    validate_secret,
)


def _fake_secret() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits + "/+", k=40))


def test_the_secret_is_masked_in_every_display() -> None:
    secret = _fake_secret()
    key = AccessKey(EXAMPLE_KEY_ID, secret, "temporary-iam-user", session_token="tok" * 30)
    shown = [repr(key), str(key), key._repr_html_(), key._repr_markdown_(), f"{key}",
             repr([key]), repr({"k": key})]
    for text in shown:
        assert secret not in text and "tok" * 30 not in text
        assert mask_secret(secret) in text
    assert key.reveal_secret() == secret
    assert secret not in pickle.dumps(key).decode("latin-1")
    assert key.without_secret().reveal_secret() == ""


def test_masks() -> None:
    assert mask_key_id(EXAMPLE_KEY_ID) == "AKIA************MPLE"
    assert mask_secret(EXAMPLE_SECRET) == "****************EKEY"


@pytest.mark.parametrize("raw", [f"  {EXAMPLE_KEY_ID}\n", f"\t{EXAMPLE_KEY_ID} \r\n"])
def test_pasted_whitespace_is_trimmed(raw: str) -> None:
    assert validate_key_id(raw) == EXAMPLE_KEY_ID
    assert validate_secret(f" {EXAMPLE_SECRET}\n") == EXAMPLE_SECRET


@pytest.mark.parametrize("raw,says", [
    ("AKIAIOSFODNN7EXAMP", "20 characters long; this one has 18"),
    ("ABCDIOSFODNN7EXAMPLE", "starts with AKIA"),
    ("akiaiosfodnn7example", "lower-case"),
    (EXAMPLE_SECRET, "swap"),
    ("", "empty"),
    ("   ", "empty"),
    ("AKIA IOSFODNN7EXAMPLE", "space or line break inside"),
    ("AKIAIOSFODNN7EXAMPLÉ", "never appears in AWS keys"),
])
def test_bad_key_ids_say_what_to_do(raw: str, says: str) -> None:
    with pytest.raises(KeyFormatError) as err:
        validate_key_id(raw)
    assert says in str(err.value)


@pytest.mark.parametrize("raw,says", [
    (EXAMPLE_SECRET[:-3], "40 characters long; this one has 37"),
    (EXAMPLE_KEY_ID, "swap"),
    ("", "empty"),
    (EXAMPLE_SECRET[:-1] + "€", "never appears in AWS keys"),
    (EXAMPLE_SECRET[:-1] + "!", "only letters, digits"),
])
def test_bad_secrets_say_what_to_do(raw: str, says: str) -> None:
    with pytest.raises(KeyFormatError) as err:
        validate_secret(raw)
    assert says in str(err.value)
    assert raw.strip() == "" or raw not in str(err.value)  # a pasted secret is never echoed


# The documented example key ID as a temporary (ASIA) key; no other literal key in the repository.
TEMP_KEY_ID = "ASIA" + EXAMPLE_KEY_ID[4:]
_CREATED = datetime(2026, 1, 2, 3, 4, 59, tzinfo=timezone.utc)
_EXPIRES = datetime(2026, 1, 2, 15, 4, 5, tzinfo=timezone.utc)


def _full_key() -> AccessKey:
    return AccessKey(
        TEMP_KEY_ID, "s" * 36 + "SSSS", "temporary-iam-user", "Inactive",
        created=_CREATED, session_token="t" * 60 + "TTTT", expiration=_EXPIRES,
    )


def test_every_field_is_shown_labelled_and_masked() -> None:
    key = _full_key()
    fields = (
        f"access_key_id='{TEMP_KEY_ID}', secret_access_key='****************SSSS', "
        "session_token='****************TTTT', user_name='temporary-iam-user', "
        "status='Inactive', created='2026-01-02 03:04 UTC', expiration='2026-01-02 15:04 UTC'"
    )
    assert repr(key) == str(key) == f"AccessKey({fields})"
    assert key._repr_markdown_() == "\n".join([
        f"- **access_key_id**: `{TEMP_KEY_ID}`",
        "- **secret_access_key**: `****************SSSS`",
        "- **session_token**: `****************TTTT`",
        "- **user_name**: `temporary-iam-user`",
        "- **status**: `Inactive`",
        "- **created**: `2026-01-02 03:04 UTC`",
        "- **expiration**: `2026-01-02 15:04 UTC`",
    ])
    assert key._repr_html_() == (
        "<table class='labkit-key'>"
        "<tr><th style='text-align:left'>access_key_id</th>"
        f"<td><code>{TEMP_KEY_ID}</code></td></tr>"
        "<tr><th style='text-align:left'>secret_access_key</th>"
        "<td><code>****************SSSS</code></td></tr>"
        "<tr><th style='text-align:left'>session_token</th>"
        "<td><code>****************TTTT</code></td></tr>"
        "<tr><th style='text-align:left'>user_name</th>"
        "<td><code>temporary-iam-user</code></td></tr>"
        "<tr><th style='text-align:left'>status</th><td><code>Inactive</code></td></tr>"
        "<tr><th style='text-align:left'>created</th>"
        "<td><code>2026-01-02 03:04 UTC</code></td></tr>"
        "<tr><th style='text-align:left'>expiration</th>"
        "<td><code>2026-01-02 15:04 UTC</code></td></tr>"
        "</table>"
    )
    # IPython's console printer (a kernel's plain-text display) shows the same masked text.
    assert IPython.lib.pretty.pretty(key) == repr(key)


def test_a_bare_key_shows_only_its_id_and_status() -> None:
    key = AccessKey(EXAMPLE_KEY_ID)
    assert repr(key) == "AccessKey(access_key_id='AKIAIOSFODNN7EXAMPLE', status='Active')"
    assert not key.has_secret and not key.temporary
    assert key.masked_id == "AKIA************MPLE"
    assert _full_key().has_secret and _full_key().temporary


def test_html_display_escapes_what_it_shows() -> None:
    key = AccessKey(EXAMPLE_KEY_ID, user_name="<b>&")
    assert "<td><code>&lt;b&gt;&amp;</code></td>" in key._repr_html_()


def test_a_pickled_key_comes_back_without_secret_or_session_token() -> None:
    key = _full_key()
    back = pickle.loads(pickle.dumps(key))
    assert back.reveal_secret() == "" and not back.has_secret
    assert back.session_token is None
    assert (back.access_key_id, back.user_name, back.status, back.created, back.expiration) == (
        TEMP_KEY_ID, "temporary-iam-user", "Inactive", _CREATED, _EXPIRES
    )
    assert key.reveal_secret() == "s" * 36 + "SSSS"  # the original keeps its secret
    assert "session_token" not in repr(back) and "secret_access_key" not in repr(back)


def test_without_secret_keeps_everything_but_the_secrets() -> None:
    bare = _full_key().without_secret()
    assert bare.reveal_secret() == "" and bare.session_token is None
    assert (bare.access_key_id, bare.user_name, bare.status, bare.created, bare.expiration) == (
        TEMP_KEY_ID, "temporary-iam-user", "Inactive", _CREATED, _EXPIRES
    )


def test_keys_are_equal_by_id_alone() -> None:
    one = AccessKey(EXAMPLE_KEY_ID, "a" * 40, "alice")
    same = AccessKey(EXAMPLE_KEY_ID, "b" * 40, "bob", "Inactive")
    other = AccessKey(EXAMPLE_KEY_ID[:-1] + "F", "a" * 40, "alice")
    assert one == same and hash(one) == hash(same)
    assert one != other and hash(one) != hash(other)
    assert one != EXAMPLE_KEY_ID
    assert len({one, same, other}) == 2


@pytest.mark.parametrize("raw,shown", [
    ("", ""),
    (None, ""),
    ("A", "*"),
    ("ABCDEFGH", "********"),  # eight characters: nothing of it shown
    ("ABCDEFGHI", "ABCD*FGHI"),
])
def test_short_key_ids_are_masked_whole(raw: str | None, shown: str) -> None:
    assert mask_key_id(raw) == shown


def test_empty_secret_masks_to_nothing() -> None:
    assert mask_secret("") == "" and mask_secret(None) == ""
    assert mask_secret("abc") == "*" * 16 + "abc"


def test_temporary_key_ids_are_accepted() -> None:
    assert validate_key_id(TEMP_KEY_ID) == TEMP_KEY_ID
    assert validate_secret(EXAMPLE_SECRET.lower()) == EXAMPLE_SECRET.lower()


@pytest.mark.parametrize(
    "raw", ["AKIAIOSFODNN7EXAMP_E", "AKIAIOSFODNN7EXAMP-E", "ASIA/OSFODNN7EXAMPLE"]
)
def test_key_id_with_punctuation_says_capitals_and_digits(raw: str) -> None:
    with pytest.raises(KeyFormatError) as err:
        validate_key_id(raw)
    assert str(err.value) == (
        "An access key ID has only capital letters and digits after AKIA. Copy it again."
    )


@pytest.mark.parametrize("raw,says", [
    (None, "The access key ID is empty. Paste it in and try again."),
    ("  ", "The access key ID is empty. Paste it in and try again."),
    ("AKIAIOSFODNN7EXAMPLÉ", "contains latin capital letter e with acute ('É'), which never"),
    ("AKIAIOSFODNN7EXAMPL\x80", "contains an unusual character ('\\x80'), which never"),
    ("AKIAIOSFODNN7EXAMPL\u200b", "contains zero width space ('\\u200b')"),
    ("asiaiosfodnn7example", "this one has lower-case letters"),
    ("ABCDIOSFODNN7EXAMPLE", "this one starts with 'ABCD'"),
    ("AKIAIOSFODNN7EXAMPLE1", "20 characters long; this one has 21"),
])
def test_key_id_messages_name_the_field_and_the_problem(raw: object, says: str) -> None:
    with pytest.raises(KeyFormatError) as err:
        validate_key_id(raw)
    assert says in str(err.value)


@pytest.mark.parametrize("raw,says", [
    (None, "The secret access key is empty. Paste it in and try again."),
    (EXAMPLE_SECRET[:-1] + "é", "contains latin small letter e with acute"),
    ("asiaiosfodnn7example", "That looks like an access key ID"),
    (EXAMPLE_SECRET + "A", "40 characters long; this one has 41"),
])
def test_secret_messages_name_the_field_and_the_problem(raw: object, says: str) -> None:
    with pytest.raises(KeyFormatError) as err:
        validate_secret(raw)
    assert says in str(err.value)


# --- the one rule for key-like text: masking runs inside text, spotting a pasted key ------------

def _fake_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))


def test_mask_token_masks_a_key_id_as_an_id_and_anything_else_as_a_secret() -> None:
    from labkit.keys import mask_token

    key_id, secret = _fake_key_id(), _fake_secret()
    assert mask_token(key_id) == key_id[:4] + "*" * 12 + key_id[-4:]
    assert mask_token(secret) == "*" * 16 + secret[-4:]


def test_mask_text_masks_every_key_id_and_base64_run_and_nothing_else() -> None:
    from labkit.keys import mask_text

    key_id, secret = _fake_key_id("ASIA"), _fake_secret()
    half = secret[:24]  # a half-pasted secret is still masked
    token = "Ab" * 30 + "=="  # a session token with its padding
    text = f"id={key_id} secret={secret}\nhalf {half}; token {token}; short {secret[:23]} ok"
    shown = mask_text(text)
    stars = "*" * 16
    assert shown == (f"id={key_id[:4]}{'*' * 12}{key_id[-4:]} secret={stars}{secret[-4:]}\n"
                     f"half {stars}{half[-4:]}; token {stars}{token[-4:]}; "
                     f"short {secret[:23]} ok")
    for clear in (key_id, secret, half, token):
        assert clear not in shown


def test_looks_like_secret_wants_30_mixed_case_base64_characters() -> None:
    from labkit.keys import looks_like_secret

    secret = _fake_secret()
    assert looks_like_secret(f"pasted: {secret} here")
    assert looks_like_secret("aB" * 15)  # 30 characters, both cases
    assert not looks_like_secret("aB" * 14 + "a")  # 29 characters
    assert not looks_like_secret("ab" * 20)  # one case only
    assert not looks_like_secret("AB" * 20)
    assert not looks_like_secret("")
    assert not looks_like_secret(None)


def test_looks_like_key_finds_a_key_id_in_any_case_or_a_secret() -> None:
    from labkit.keys import looks_like_key

    key_id = _fake_key_id()
    assert looks_like_key(f"my key is {key_id}")
    assert looks_like_key(f"my key is {key_id.lower()}")  # typed in lower case: still a key ID
    assert not looks_like_key(f"x{key_id}")  # part of a longer word is not a key ID
    assert looks_like_key("aB" * 15)
    assert not looks_like_key("temporary-iam-user")
    assert not looks_like_key(None)
