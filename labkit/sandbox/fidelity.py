"""What stock moto gets wrong for this lab, fixed inside the sandbox server process.

Each fix is installed once by `install()` and listed in `FIXES`, which the sandbox reports in its
health answer so that lessons can say "simulated" (or name a missing fix on a stock moto).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

FIXES = (
    "inactive-keys-rejected",
    "delete-user-conflicts",
    "credential-report",
    "managed-policies-subset",
    "issued-secrets-check",
)

# The AWS managed policies the course uses; loading all 1,400 costs a second and tens of MB.
MANAGED_POLICIES = (
    "AdministratorAccess",
    "IAMReadOnlyAccess",
    "IAMFullAccess",
    "IAMUserChangePassword",
    "IAMSelfManageServiceSpecificCredentials",
    "PowerUserAccess",
    "AWSCloudTrail_ReadOnlyAccess",
)

REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
_DATE = "%Y-%m-%dT%H:%M:%S+00:00"

# The simulated root user's access key (a lesson can plant one to show CIS 1.4); None = no key.
ROOT_KEY: dict[str, Any] = {"active": None, "created": None, "last_used": None}
ACCOUNT_CREATED = datetime.now(UTC).replace(microsecond=0)

# SHA-256 of every secret and session token the sandbox issued: lets a test prove that none of
# them appears in a saved notebook, without the sandbox keeping the secrets themselves.
ISSUED: set[str] = set()

_installed = False


def _remember(*secrets: str | None) -> None:
    import hashlib

    for secret in secrets:
        if secret:
            ISSUED.add(hashlib.sha256(secret.encode()).hexdigest())


def issued(candidates: list[str]) -> list[int]:
    """Which of `candidates` are secrets (or session tokens) this sandbox issued."""
    import hashlib

    return [i for i, c in enumerate(candidates)
            if hashlib.sha256(c.encode()).hexdigest() in ISSUED]


def install() -> None:
    """Patch moto in this process; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    _managed_policies_subset()
    _inactive_keys_rejected()
    _delete_user_conflicts()
    _credential_report()
    _remember_issued()


def _remember_issued() -> None:
    from moto.iam import models
    from moto.sts import models as sts_models

    original_key = models.AccessKey.__init__

    def key_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_key(self, *args, **kwargs)
        _remember(self.secret_access_key)

    models.AccessKey.__init__ = key_init
    original_role = sts_models.AssumedRole.__init__

    def role_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_role(self, *args, **kwargs)
        _remember(self.secret_access_key, self.session_token)

    sts_models.AssumedRole.__init__ = role_init


def _managed_policies_subset() -> None:
    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    wanted = {n: d for n, d in json.loads(aws_managed_policies_data).items() if n in MANAGED_POLICIES}

    def init_aws_policies(self: Any) -> list[Any]:
        return [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in wanted.items()
        ]

    models.IAMBackend._init_aws_policies = init_aws_policies


def _inactive_keys_rejected() -> None:
    from moto.iam import access_control, models

    def init(self: Any, account_id: str, partition: str, access_key_id: str, headers: Any) -> None:
        self.account_id = account_id
        self.partition = partition
        key = self.backend.access_keys.get(access_key_id)
        # AWS treats a deactivated key exactly like an unknown one.
        if key is None or key.status != "Active" or key.user_name not in self.backend.users:
            raise access_control.CreateAccessKeyFailure(reason="InvalidId")
        if "X-Amz-Security-Token" in headers:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")
        self._owner_user_name = key.user_name
        self._access_key_id = access_key_id
        self._secret_access_key = key.secret_access_key

    access_control.IAMUserAccessKey.__init__ = init

    original_mark = models.mark_account_as_visited

    def mark_account_as_visited(account_id: str, access_key: str, service: str, region: str) -> None:
        # A rejected (inactive) key is not "used" on AWS: its last-used date stays put.
        from moto.utilities.utils import get_partition

        backend = models.iam_backends[account_id][get_partition(region)]
        key = backend.access_keys.get(access_key)
        if key is not None and key.status != "Active":
            return
        original_mark(account_id, access_key, service, region)

    models.mark_account_as_visited = mark_account_as_visited


def _delete_user_conflicts() -> None:
    from moto.iam import models
    from moto.iam.exceptions import DeleteConflictException

    def delete_user(self: Any, user_name: str) -> None:
        user = self.get_user(user_name)
        # AWS refuses while anything still hangs off the user, naming the first thing found.
        checks = [
            (user.password, "Cannot delete entity, must delete login profile first."),
            (user.access_keys, "Cannot delete entity, must delete access keys first."),
            (user.signing_certificates, "Cannot delete entity, must delete signing certificates first."),
            (user.ssh_public_keys, "Cannot delete entity, must delete SSH public keys first."),
            (
                getattr(user, "service_specific_credentials", None),
                "Cannot delete entity, must delete service specific credentials first.",
            ),
            (user.mfa_devices, "Cannot delete entity, must delete MFA device first."),
            (user.policies, "Cannot delete entity, must delete policies first."),
            (user.managed_policies, "Cannot delete entity, must detach all policies first."),
            (
                any(user in g.users for g in self.groups.values()),
                "Cannot delete entity, must remove users from group first.",
            ),
        ]
        for present, message in checks:
            if present:
                raise DeleteConflictException(message)
        self.tagger.delete_all_tags_for_resource(user.arn)
        del self.users[user_name]

    models.IAMBackend.delete_user = delete_user


def _slot(key: Any) -> int:
    return getattr(key, "labkit_slot", 0)


def _credential_report() -> None:
    from moto.core.utils import utcnow
    from moto.iam import models, responses
    from moto.utilities.utils import get_partition

    original_create = models.User.create_access_key

    def create_access_key(self: Any, prefix: str, status: str = "Active") -> Any:
        taken = {_slot(k) for k in self.access_keys}
        key = original_create(self, prefix=prefix, status=status)
        # AWS keeps a key in its report column (1 or 2) for life, even after the other is deleted.
        key.labkit_slot = next(s for s in (1, 2, 3) if s not in taken)
        return key

    models.User.create_access_key = create_access_key

    def key_fields(key: Any | None) -> list[str]:
        if key is None:
            return ["false", "N/A", "N/A", "N/A", "N/A"]
        used = key.last_used
        if used is None:
            return ["true" if key.status == "Active" else "false",
                    key.create_date.strftime(_DATE), "N/A", "N/A", "N/A"]
        stamp = used.timestamp if hasattr(used, "timestamp") and not isinstance(used, datetime) else used
        return [
            "true" if key.status == "Active" else "false",
            key.create_date.strftime(_DATE),
            stamp.strftime(_DATE),
            getattr(used, "region", None) or "N/A",
            getattr(used, "service", None) or "N/A",
        ]

    def user_row(user: Any) -> str:
        slots = {_slot(k) or i + 1: k for i, k in enumerate(user.access_keys)}
        if user.password:
            password = ["true", user.password_last_used.strftime(_DATE)
                        if user.password_last_used else "no_information",
                        user.create_date.strftime(_DATE), "N/A"]
        else:
            password = ["false", "N/A", "N/A", "N/A"]
        certs = list(user.signing_certificates.values())
        cert_fields: list[str] = []
        for i in range(2):
            cert = certs[i] if i < len(certs) else None
            cert_fields += (["true" if cert.status == "Active" else "false",
                             cert.upload_date if isinstance(cert.upload_date, str)
                             else cert.upload_date.strftime(_DATE)]
                            if cert else ["false", "N/A"])
        return ",".join(
            [user.name, user.arn, user.create_date.strftime(_DATE), *password,
             "true" if user.mfa_devices else "false",
             *key_fields(slots.get(1)), *key_fields(slots.get(2)), *cert_fields]
        )

    def root_row(account_id: str, partition: str) -> str:
        key = ["false", "N/A", "N/A", "N/A", "N/A"]
        if ROOT_KEY["active"] is not None:
            used = ROOT_KEY["last_used"]
            key = ["true" if ROOT_KEY["active"] else "false", ROOT_KEY["created"],
                   used or "N/A", "us-east-1" if used else "N/A", "iam" if used else "N/A"]
        return ",".join(
            ["<root_account>", f"arn:{partition}:iam::{account_id}:root",
             ACCOUNT_CREATED.strftime(_DATE), "not_supported", "no_information",
             "not_supported", "not_supported", "false", *key,
             "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"]
        )

    def generate_report(self: Any) -> None:
        # A fresh snapshot each time (AWS reuses one for 4 hours; the lab wants what just changed).
        self.labkit_report = (utcnow(), "\n".join(
            [REPORT_HEADER, root_row(self.account_id, get_partition(self.region_name))]
            + [user_row(u) for u in self.users.values()]) + "\n")
        self.credential_report = True

    def get_credential_report(self: Any) -> str:
        if not getattr(self, "labkit_report", None):
            raise models.ReportNotPresentException("Credential report not present")
        return self.labkit_report[1]

    models.IAMBackend.generate_report = generate_report
    models.IAMBackend.get_credential_report = get_credential_report

    original_get = responses.IamResponse.get_credential_report

    def get_report_response(self: Any) -> Any:
        result = original_get(self)
        generated = getattr(self.backend, "labkit_report", None)
        if generated:
            result.result["GeneratedTime"] = generated[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        return result

    responses.IamResponse.get_credential_report = get_report_response
