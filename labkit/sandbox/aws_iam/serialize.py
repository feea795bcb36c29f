"""IAM's error envelope as AWS sends it: `Type`, `Code`, `Message`, nothing else."""

from __future__ import annotations

from typing import Any

from moto.core.serialize import QuerySerializer


class IamQuerySerializer(QuerySerializer):
    """moto's query serializer, minus the lower-case `message` member of IAM's error shapes.

    botocore's IAM model gives each error shape a `message` member; moto writes it beside the
    envelope's `Message`, so boto3 shows an `Error.message` (and a top-level `message`) that
    AWS never sends.
    """

    def _serialize_error_metadata(self, serialized: Any, error: Exception, shape: Any) -> None:
        super()._serialize_error_metadata(serialized, error, shape)
        serialized.pop("message", None)
