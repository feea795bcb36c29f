"""STS as AWS answers it, built the way moto builds a service: a backend (models.py), a response
class (responses.py) and the URLs that route to it (urls.py), registered by `register()`."""

from __future__ import annotations


def register() -> None:
    """Make moto's STS BackendDict build SandboxSTSBackend, with AWS's error envelope."""
    from moto.core import serialize
    from moto.sts.models import sts_backends

    from labkit.sandbox.aws_iam.serialize import IamQuerySerializer
    from labkit.sandbox.aws_sts.models import SandboxSTSBackend

    sts_backends.backend = SandboxSTSBackend
    for account in list(sts_backends):
        del sts_backends[account]
    serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("sts", {})["query"] = IamQuerySerializer
