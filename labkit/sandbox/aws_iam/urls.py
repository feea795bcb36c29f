"""The IAM endpoint's URLs, routed to labkit's response class (moto reads `url_bases` and
`url_paths` from the `urls` module beside the backend class)."""

from moto.iam.urls import url_bases

from labkit.sandbox.aws_iam.responses import SandboxIamResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/$": SandboxIamResponse.dispatch}
