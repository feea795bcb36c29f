"""The access-key value type and the bad input a learner can paste."""

from __future__ import annotations

import pickle
import random
import string

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
