"""Organizations as a standalone AWS account sees it: not in use, whatever is asked."""

from __future__ import annotations

from moto.organizations.responses import OrganizationsResponse

from labkit.sandbox.unmodelled import AnswersUnmodelled


class SandboxOrganizationsResponse(AnswersUnmodelled, OrganizationsResponse):
    """moto's Organizations responses; DescribeAccount in a standalone account as AWS answers."""

    def describe_account(self) -> str:
        # AWS: an account outside any organization gets AWSOrganizationsNotInUseException
        # (moto looks the account up and answers AccountNotFoundException).
        self.organizations_backend.describe_organization()  # raises it when there is none
        return super().describe_account()


def register() -> None:
    """Route the Organizations endpoint to labkit's response class, as moto's urls module does."""
    from moto.organizations import urls

    urls.url_paths["{0}/$"] = SandboxOrganizationsResponse.dispatch
