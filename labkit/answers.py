"""What AWS answered, as a lesson shows it: every secret in a response masked on display."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from labkit.guard import LAB_TAG
from labkit.keys import mask_secret

# Response fields that hold a secret: an access key's secret, a session token, a password.
SECRET_FIELDS = frozenset({"SecretAccessKey", "SessionToken", "Password"})


class Secret(str):
    """A secret AWS returned: the string itself for signing, masked wherever it is displayed."""

    def reveal(self) -> str:
        """The secret as a plain string: use it to sign requests, never to print."""
        return self[:]  # slicing a str subclass gives a plain str

    def __repr__(self) -> str:
        return repr(mask_secret(self.reveal()))

    def __str__(self) -> str:
        return mask_secret(self.reveal())

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling (a variable inspector, a cache) must not carry the secret along.
        return (str, (str(self),))


class Metadata(dict):  # type: ignore[type-arg]
    """boto3's ResponseMetadata, complete, but displayed in one line (status and request ID)."""

    def __repr__(self) -> str:
        return (f"{{'HTTPStatusCode': {self.get('HTTPStatusCode')!r}, "
                f"'RequestId': {self.get('RequestId')!r}, ...}}")


class When(datetime):
    """A time AWS returned: a real datetime, displayed the way the CLI prints it (UTC, ISO 8601)."""

    @classmethod
    def of(cls, value: datetime) -> When:
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second,
                   value.microsecond, value.tzinfo, fold=value.fold)

    def __repr__(self) -> str:
        at = self.astimezone(UTC) if self.tzinfo else self
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(value: Any) -> Any:
    """A Secret's real value (other values unchanged), for code that signs or saves privately."""
    return value.reveal() if isinstance(value, Secret) else value


def mask_secrets(answer: Any) -> Any:
    """Wrap every secret field of a parsed response in Secret (and times in When), in place."""
    if isinstance(answer, dict):
        if isinstance(answer.get("ResponseMetadata"), dict):
            answer["ResponseMetadata"] = Metadata(answer["ResponseMetadata"])
        for name, value in answer.items():
            if name in SECRET_FIELDS and isinstance(value, str) and not isinstance(value, Secret):
                answer[name] = Secret(value)
            elif isinstance(value, datetime) and not isinstance(value, When):
                answer[name] = When.of(value)
            else:
                mask_secrets(value)
    elif isinstance(answer, list):
        for item in answer:
            mask_secrets(item)
    return answer


# The latest answer to each operation made through a lesson's clients (one learner per kernel):
# checkpoints look at what the learner's own call returned.
LAST: dict[str, Any] = {}


def _after_call(parsed: Any = None, model: Any = None, **_: Any) -> None:
    mask_secrets(parsed)
    if model is not None and isinstance(parsed, dict) and "Error" not in parsed:
        LAST[model.name] = parsed


def install_masking(client: Any) -> Any:
    """Make `client` mask the secrets of every response it returns (once per client)."""
    # botocore registers a unique_id once per client: calling this again changes nothing.
    client.meta.events.register("after-call", _after_call, unique_id="labkit-mask-secrets")
    return client


def _tag_creation(params: Any = None, **_: Any) -> None:
    tags = params.setdefault("Tags", [])
    if not any(t.get("Key") == LAB_TAG["Key"] for t in tags):
        tags.append(dict(LAB_TAG))


def install_tagging(client: Any) -> Any:
    """On real AWS: users and roles a learner creates carry the lab's tag, so that the lab may
    later delete them (it never touches what it did not create)."""
    for operation in ("CreateUser", "CreateRole"):  # once per client, as above
        client.meta.events.register(f"before-parameter-build.iam.{operation}", _tag_creation,
                                    unique_id=f"labkit-tag-{operation}")
    return client
