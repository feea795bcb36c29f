"""AWS error codes, and what each means and what to do, in the words a learner needs."""

from __future__ import annotations

from dataclasses import dataclass

# AWS error code -> (what it means, what to do), in the words a learner needs.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "AccessDenied": (
        "AWS knows who you are, but your policies do not allow this action.",
        (
            "That is least privilege at work. Use an identity whose policy allows it, or ask an "
            "administrator to grant only the permission you need."
        ),
    ),
    "SignatureDoesNotMatch": (
        "The access key ID exists, but the request was signed with the wrong secret access key.",
        (
            "Copy the secret again from where you saved it. If it is lost, it cannot be shown "
            "again: create a new key pair and delete the old one."
        ),
    ),
    "InvalidClientTokenId": (
        (
            "AWS does not recognise this access key ID: it was deleted, deactivated, or never "
            "existed in this account."
        ),
        (
            "Check the key's status on the user's Security credentials tab (list_access_keys). "
            "Use an active key, or create a new one."
        ),
    ),
    "LimitExceeded": (
        "An IAM user can have at most two access keys, and this user already has two.",
        (
            "Delete (or first deactivate, then delete) the key you no longer use, then create the "
            "new one. Two keys exist so that you can rotate without downtime."
        ),
    ),
    "EntityAlreadyExists": (
        "Something with this name already exists in the account (did this cell run before?).",
        "If it is the one you made, carry on with the next step. To start the lesson over, run "
        "its Setup cells again. Otherwise pick another name.",
    ),
    "NoSuchEntity": (
        "There is no such user, key, role or policy in this account (maybe already deleted).",
        "Check the name for typos, or list what exists (list_users, list_access_keys).",
    ),
    "DeleteConflict": (
        (
            "AWS will not delete a user while something is still attached to it (keys, policies, "
            "a password, MFA devices, group memberships...)."
        ),
        (
            "Delete the user's access keys and other credentials, detach its policies, then delete "
            "the user (lesson 09 shows that order)."
        ),
    ),
    "ExpiredToken": (
        "These temporary credentials have expired.",
        "Ask for new ones (assume the role again). Expiry is what makes them safer than keys.",
    ),
    "InvalidAccessKeyId": (
        "AWS does not recognise this access key ID.",
        "Check you copied the whole ID, and that the key is still active.",
    ),
    "ValidationError": (
        "AWS rejected a value in the request (a name too long, a character not allowed...).",
        "Read the message for which value, fix it and try again.",
    ),
    "ReportInProgress": (
        "The credential report is still being generated.",
        "Wait a moment and ask again (labkit waits for you).",
    ),
}


@dataclass(frozen=True)
class Explanation:
    """An AWS error, said plainly."""

    code: str
    message: str
    meaning: str
    what_to_do: str

    def __str__(self) -> str:
        return f"{self.code}: {self.meaning} {self.what_to_do}"


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def explain(error: BaseException) -> Explanation:
    """Plain words for an AWS error (or any other error the lab can meet)."""
    code = error_code(error)
    message = getattr(error, "response", {}).get("Error", {}).get("Message", "") if code else ""
    if code in EXPLANATIONS:
        meaning, todo = EXPLANATIONS[code]
        return Explanation(code, message, meaning, todo)
    if code:
        return Explanation(code, message, f"AWS refused the request: {message}",
                           "Read the message above; the AWS documentation for this error "
                           "code says more.")
    name = type(error).__name__
    if "EndpointConnection" in name or "ConnectionClosed" in name:
        return Explanation(name, str(error), "The lab could not reach its AWS endpoint.",
                           "Run the lesson's Setup cell again; it restarts the sandbox if needed.")
    if "NoCredentials" in name or "PartialCredentials" in name:
        return Explanation(name, str(error), "No (or incomplete) credentials were found.",
                           "Configure a profile first (lesson 04) or pass a key pair.")
    return Explanation(name, str(error), str(error), "Check the value you gave and try again.")
