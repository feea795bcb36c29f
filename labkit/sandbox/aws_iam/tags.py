"""IAM's tag rules with AWS's messages (recorded from AWS): the position of the tag, never its
value ("Value at 'tags.1.member.key' failed to satisfy constraint: ..."), no final full stop."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.iam.exceptions import ValidationError

PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
_KEY = re.compile(r"[\w\s_.:/=+\-@]+")  # Python's closest to the Java pattern above
_FAILED = "1 validation error detected: Value at '{at}' failed to satisfy constraint: {rule}"
_AT_MOST = "Member must have length less than or equal to {n}"
_UNTAG_RULES = (f"Member must satisfy constraint: [{_AT_MOST.format(n=128)}, Member must have "
                f"length greater than or equal to 1, Member must satisfy regular expression "
                f"pattern: {PATTERN}, Member must not be null]")


def _refuse(at: str, rule: str) -> ValidationError:
    return ValidationError(_FAILED.format(at=at, rule=rule))


def verify(tags: list[dict[str, str]],
           check_duplicate: Callable[[dict[str, Any], str], None]) -> dict[str, dict[str, str]]:
    """What moto's _tag_verification returns (tags by lower-case key), or AWS's refusal."""
    if len(tags) > 50:
        raise _refuse("tags", _AT_MOST.format(n=50))
    found: dict[str, dict[str, str]] = {}
    for index, tag in enumerate(tags, 1):
        key, value = tag["Key"], tag.get("Value", "")
        check_duplicate(found, key.lower())
        if len(key) > 128:
            raise _refuse(f"tags.{index}.member.key", _AT_MOST.format(n=128))
        if not _KEY.fullmatch(key):
            raise _refuse(f"tags.{index}.member.key",
                          f"Member must satisfy regular expression pattern: {PATTERN}")
        if len(value) > 256:
            raise _refuse(f"tags.{index}.member.value", _AT_MOST.format(n=256))
        found[key.lower()] = tag
    return found


def check_untag(keys: list[str]) -> None:
    """AWS's refusal of UntagRole/UntagPolicy/UntagUser keys, if any."""
    if len(keys) > 50:
        raise _refuse("tagKeys", _AT_MOST.format(n=50))
    if any(not key or len(key) > 128 or not _KEY.fullmatch(key) for key in keys):
        raise _refuse("tagKeys", _UNTAG_RULES)
