"""IAM as AWS answers it, built the way moto builds a service: a backend (models.py), a response
class (responses.py) and the URLs that route to it (urls.py), registered by `register()`.

moto finds a service's URLs next to its backend class (`<package>.models` -> `<package>.urls`),
so this package keeps moto's layout.
"""

from __future__ import annotations


def register() -> None:
    """Make moto's IAM BackendDict build SandboxIAMBackend, and IAM errors use AWS's envelope."""
    from moto.core import serialize
    from moto.iam.models import iam_backends

    from labkit.sandbox.aws_iam.models import SandboxIAMBackend
    from labkit.sandbox.aws_iam.serialize import IamQuerySerializer

    iam_backends.backend = SandboxIAMBackend
    for account in list(iam_backends):  # none yet in a fresh server; a stale one would be stock
        del iam_backends[account]
    serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("iam", {})["query"] = IamQuerySerializer
