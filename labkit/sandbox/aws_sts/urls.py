"""The STS endpoint's URLs, routed to labkit's response class."""

from moto.sts.urls import url_bases

from labkit.sandbox.aws_sts.responses import SandboxTokenResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/$": SandboxTokenResponse.dispatch}
