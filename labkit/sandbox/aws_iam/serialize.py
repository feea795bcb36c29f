"""IAM's and STS's answers as AWS sends them: the error envelope holds `Type`, `Code`, `Message`
and nothing else; every time is on the host's calendar (clock.py says why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moto.core.serialize import QuerySerializer

from labkit.sandbox.clock import CLOCK


class IamQuerySerializer(QuerySerializer):
    """moto's query serializer, minus the lower-case `message` member of IAM's error shapes.

    botocore's IAM model gives each error shape a `message` member; moto writes it beside the
    envelope's `Message`, so boto3 shows an `Error.message` (and a top-level `message`) that
    AWS never sends.
    """

    def _serialize_error_metadata(self, serialized: Any, error: Exception, shape: Any) -> None:
        super()._serialize_error_metadata(serialized, error, shape)
        serialized.pop("message", None)

    def _serialize_type_timestamp(self, serialized: Any, value: Any, shape: Any,
                                  key: str) -> None:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        if isinstance(value, datetime):
            value = CLOCK.presented(value)
        super()._serialize_type_timestamp(serialized, value, shape, key)
