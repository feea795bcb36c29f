"""The access-key value type (masked whenever shown) and key format checks."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

# AWS key IDs: a 4-letter prefix (AKIA long-term, ASIA temporary) and 16 upper-case letters/digits.
KEY_ID_RE = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
# Secret access keys: 40 characters of base64's alphabet.
SECRET_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
# The same two inside longer text; `\n` before a key in escaped JSON text is a boundary too.
KEY_ID_IN_TEXT = re.compile(
    r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"
)
# Exactly 40 characters of base64's alphabet, not a slice of a longer base64 run.
SECRET_IN_TEXT = re.compile(
    r"(?:(?<![A-Za-z0-9/+])|(?<=\\[nrt]))[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
# Masked wherever the lab shows text: a key ID, or any run of 24+ base64 characters (a secret,
# a session token, or a cut-off part of one).
MASKABLE = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}|[A-Za-z0-9/+]{24,}=*")
# What a pasted secret looks like inside a field: a run of 30+ base64 characters in mixed case
# (a real secret is 40 random ones: all in one case about once in a billion).
_SECRETISH = re.compile(r"[A-Za-z0-9/+]{30,}")
# The same, with the padding a session token may end in, for masking it whole.
_SECRETISH_RUN = re.compile(r"[A-Za-z0-9/+]{30,}=*")
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class KeyFormatError(ValueError):
    """A typed or pasted key that cannot be right; the message says what to do."""


def mask_key_id(key_id: str | None) -> str:
    """Show the prefix and last four characters of a key ID: AKIA************MPLE."""
    if not key_id:
        return ""
    if len(key_id) <= 8:
        return "*" * len(key_id)
    return key_id[:4] + "*" * (len(key_id) - 8) + key_id[-4:]


def mask_secret(secret: str | None) -> str:
    """Show a secret as `aws configure` does: sixteen stars and its last four characters."""
    if not secret:
        return ""
    return "*" * 16 + secret[-4:]


def mask_token(token: str) -> str:
    """One key-like run masked: a key ID as mask_key_id, anything else as mask_secret."""
    return mask_key_id(token) if KEY_ID_RE.match(token) else mask_secret(token)


def mask_text(text: str) -> str:
    """`text` with every key ID and every secret-like run (MASKABLE) masked."""
    return MASKABLE.sub(lambda m: mask_token(m.group()), text)


# In a command's output, the value after a secret field's name (JSON, YAML, table, INI): masked
# whatever it looks like.
_SECRET_FIELD_VALUE = re.compile(
    r"((?:SecretAccessKey|SessionToken|aws_secret_access_key|aws_session_token|Password)"
    r"[\"']?[ \t]*[:=|][ \t]*[\"']?)([^\s\"'|,]+)")


def mask_secrets_in_text(text: str) -> str:
    """`text` (a command's output) with every secret masked as `aws configure` shows it: the
    value of a secret field, and any other run that looks like a secret or a session token.
    Key IDs stay readable, as in the lab's masked AWS answers."""
    text = _SECRET_FIELD_VALUE.sub(lambda m: m.group(1) + mask_secret(m.group(2)), text)
    return _SECRETISH_RUN.sub(
        lambda m: mask_secret(m.group()) if looks_like_secret(m.group()) else m.group(), text)


def looks_like_secret(text: str | None) -> bool:
    """Whether `text` seems to hold a secret access key: the lab's one rule for a pasted secret."""
    return any(any(c.islower() for c in run) and any(c.isupper() for c in run)
               for run in _SECRETISH.findall(text or ""))


def looks_like_key(text: str | None) -> bool:
    """Whether `text` holds an access key ID or seems to hold a secret access key."""
    return bool(KEY_ID_IN_TEXT.search((text or "").upper())) or looks_like_secret(text)


def _clean(value: object, what: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise KeyFormatError(f"The {what} is empty. Paste it in and try again.")
    if any(ch.isspace() for ch in text):
        raise KeyFormatError(
            f"The {what} has a space or line break inside it. Copy it again in one piece."
        )
    if not text.isascii():
        odd = next(ch for ch in text if not ch.isascii())
        name = unicodedata.name(odd, "an unusual character").lower()
        raise KeyFormatError(
            f"The {what} contains {name!s} ({odd!r}), which never appears in AWS keys. "
            "Copy it again from the place you saved it."
        )
    return text


def _refuse_first(problems: tuple[tuple[bool, str], ...]) -> None:
    """Raise KeyFormatError with the message of the first problem that applies (most helpful
    first: a swapped field says so before "wrong length")."""
    for applies, message in problems:
        if applies:
            raise KeyFormatError(message)


def validate_key_id(value: object) -> str:
    """Return the key ID trimmed of pasted whitespace, or raise KeyFormatError in plain words."""
    text = _clean(value, "access key ID")
    exact = bool(KEY_ID_RE.match(text))
    _refuse_first((
        (bool(SECRET_RE.match(text)) and not exact,
         "That looks like a secret access key (40 characters), not an access key ID. Did you "
         "swap the two fields? The ID starts with AKIA and is 20 characters long."),
        (bool(KEY_ID_RE.match(text.upper())) and not exact,
         "Access key IDs are all capital letters and digits; this one has lower-case letters. "
         "Copy it again exactly as AWS showed it."),
        (not text.upper().startswith(("AKIA", "ASIA")),
         f"An access key ID starts with AKIA (or ASIA for temporary keys); this one starts "
         f"with {text[:4]!r}. Check you copied the access key ID."),
        (len(text) != 20,
         f"An access key ID is 20 characters long; this one has {len(text)}. "
         "Copy it again in full."),
        (not exact,
         "An access key ID has only capital letters and digits after AKIA. Copy it again."),
    ))
    return text


def validate_secret(value: object) -> str:
    """Return the secret trimmed of pasted whitespace, or raise KeyFormatError in plain words."""
    text = _clean(value, "secret access key")
    _refuse_first((
        (bool(KEY_ID_RE.match(text.upper())),
         "That looks like an access key ID (it starts with AKIA), not the secret. "
         "Did you swap the two fields? The secret is 40 characters long."),
        (len(text) != 40,
         f"A secret access key is 40 characters long; this one has {len(text)}. "
         "Copy it again in full from the place you saved it."),
        (not SECRET_RE.match(text),
         "A secret access key has only letters, digits, '/' and '+'. Copy it again."),
    ))
    return text


@dataclass(frozen=True, repr=False, eq=False)
class AccessKey:
    """An access key pair. The secret is masked in every display; `reveal_secret()` gives it."""

    access_key_id: str
    _secret: str = field(default="", compare=False)
    user_name: str | None = None
    status: str = "Active"
    created: datetime | None = None
    session_token: str | None = None
    expiration: datetime | None = None

    @property
    def has_secret(self) -> bool:
        return bool(self._secret)

    @property
    def temporary(self) -> bool:
        return self.access_key_id.startswith("ASIA")

    def reveal_secret(self) -> str:
        """The secret itself: use it to sign requests, never to print."""
        return self._secret

    def without_secret(self) -> AccessKey:
        """The same key with the secret forgotten (for keeping in lists and tables)."""
        return AccessKey(
            self.access_key_id, "", self.user_name, self.status, self.created, None, self.expiration
        )

    @property
    def masked_id(self) -> str:
        return mask_key_id(self.access_key_id)

    def _fields(self) -> list[tuple[str, str]]:
        out = [("access_key_id", self.access_key_id)]
        if self._secret:
            out.append(("secret_access_key", mask_secret(self._secret)))
        if self.session_token:
            out.append(("session_token", mask_secret(self.session_token)))
        if self.user_name:
            out.append(("user_name", self.user_name))
        out.append(("status", self.status))
        if self.created:
            out.append(("created", self.created.strftime("%Y-%m-%d %H:%M UTC")))
        if self.expiration:
            out.append(("expiration", self.expiration.strftime("%Y-%m-%d %H:%M UTC")))
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields())
        return f"AccessKey({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccessKey) and other.access_key_id == self.access_key_id

    def __hash__(self) -> int:
        return hash(self.access_key_id)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td><code>{html.escape(v)}</code></td></tr>"
            for k, v in self._fields()
        )
        return f"<table class='labkit-key'>{rows}</table>"

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- **{k}**: `{v}`" for k, v in self._fields())

    def __getstate__(self) -> dict[str, object]:
        # Pickling (e.g. by a kernel's variable inspector) must not carry the secret along.
        state = dict(self.__dict__)
        state["_secret"] = ""
        state["session_token"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
