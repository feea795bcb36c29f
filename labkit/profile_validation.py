"""A profile name, a region, an output format and config settings checked before labkit writes
them into the AWS CLI's files: what the AWS CLI would misread is refused in plain words."""

from __future__ import annotations

import functools
import re

from labkit.keys import (
    looks_like_key,
)

TUTORIAL_REGION = "us-east-1"
MAX_PROFILE_NAME = 64
OUTPUT_FORMATS = ("json", "yaml", "yaml-stream", "text", "table")
CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]+$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_CONFIG_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ProfileNameError(ValueError):
    """A profile name the AWS CLI would misread; the message says what to type instead."""


class RegionError(ValueError):
    """Not an AWS region code; the message suggests the tutorial's region."""




def validate_profile_name(name: object) -> str:
    """Return the trimmed profile name, or raise ProfileNameError saying what is wrong."""
    text = "" if name is None else str(name).strip()
    if not text:
        raise ProfileNameError("The profile name is empty. Type a short name such as 'lab'.")
    if looks_like_key(text):
        # Do not echo it back: it is probably a key pasted into the wrong box.
        raise ProfileNameError(
            "That looks like an access key, not a profile name. A profile name is a short "
            "label such as 'lab'; the key goes in the key fields."
        )
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    if not text.isascii():
        odd = next(ch for ch in text if not ch.isascii())
        raise ProfileNameError(
            f"The profile name {shown} contains {odd!r}. Use only plain letters (a-z, A-Z), "
            "digits and - _ . @ +."
        )
    if any(ch.isspace() for ch in text):
        raise ProfileNameError(
            f"The profile name {shown} has a space in it, which the AWS files cannot hold. "
            f"Use a dash instead: {'-'.join(text.split())!r}."
        )
    if "[" in text or "]" in text:
        raise ProfileNameError(
            f"The profile name {shown} has a square bracket; the files use [brackets] to mark "
            "where a profile starts. Leave them out: the CLI adds them."
        )
    if "#" in text or ";" in text:
        raise ProfileNameError(
            f"The profile name {shown} has '#' or ';', which start a comment in the AWS files. "
            "Leave them out."
        )
    if len(text) > MAX_PROFILE_NAME:
        raise ProfileNameError(
            f"The profile name is {len(text)} characters long; keep it to "
            f"{MAX_PROFILE_NAME} or fewer."
        )
    if text == "DEFAULT":
        # configparser treats [DEFAULT] as values shared by every profile.
        raise ProfileNameError(
            "'DEFAULT' in capitals is special in these files (its settings would leak into "
            "every profile). Use 'default' in lower case, or another name."
        )
    if not _NAME_RE.match(text):
        bad = " ".join(repr(ch) for ch in sorted({ch for ch in text if not _NAME_RE.match(ch)}))
        raise ProfileNameError(
            f"The profile name {shown} contains {bad}. Use only letters, digits and - _ . @ +."
        )
    return text


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region botocore knows, in every partition (aws, aws-cn, aws-us-gov, ...)."""
    from botocore.loaders import Loader
    from botocore.regions import EndpointResolver

    # Only botocore's bundled data: no user config files, no environment variables.
    loader = Loader(
        extra_search_paths=[Loader.BUILTIN_DATA_PATH],
        include_default_search_paths=False,
        include_default_extras=False,
    )
    endpoints = loader.load_data("endpoints")
    resolver = EndpointResolver(endpoints, uses_builtin_data=True)
    regions: set[str] = set()
    for partition in endpoints.get("partitions", []):
        regions.update(partition.get("regions", {}))
        regions.update(resolver.get_available_endpoints("ec2", partition["partition"]))
    return frozenset(regions)


def validate_region(region: object) -> str:
    """Return the trimmed region code, or raise RegionError suggesting the tutorial's region."""
    text = "" if region is None else str(region).strip()
    if text == TUTORIAL_REGION:  # every profile the lab writes: skip loading botocore's 1 MB
        return text  # endpoints file (a quarter second and megabytes in each kernel)
    hint = f"The tutorial uses {TUTORIAL_REGION}."
    if not text:
        raise RegionError(f"The region is empty. {hint}")
    if looks_like_key(text):
        raise RegionError(f"That looks like an access key, not a region. {hint}")
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    if text != text.lower() and _REGION_RE.match(text.lower()):
        raise RegionError(
            f"Region codes are written in lower case: use {text.lower()!r}, not {shown}."
        )
    zone = re.match(r"^(.*-\d)[a-z]$", text)
    if zone and zone.group(1) in known_regions():
        raise RegionError(
            f"{shown} is an Availability Zone, not a region. Use the region {zone.group(1)!r}."
        )
    if not _REGION_RE.match(text) or text not in known_regions():
        if " " in text or "(" in text:
            raise RegionError(
                f"{shown} is a region's display name; use its code, like {TUTORIAL_REGION}."
            )
        raise RegionError(f"{shown} is not an AWS region. {hint}")
    return text


def validate_output(output: str) -> str:
    text = output.strip()
    if text not in OUTPUT_FORMATS:
        raise ValueError(
            f"{text!r} is not an AWS CLI output format. Use one of: {', '.join(OUTPUT_FORMATS)}."
        )
    return text


def validate_extra(extra: dict[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in extra.items():
        k = str(key).strip().lower()
        if not _CONFIG_KEY_RE.match(k):
            raise ValueError(f"{key!r} is not a config setting name (like endpoint_url).")
        if k in CREDENTIAL_KEYS:
            raise ValueError(
                f"{k} belongs in the credentials file; pass the key to configure_profile instead."
            )
        if k in ("region", "output"):
            raise ValueError(f"Pass {k} as its own argument, not in extra_config.")
        v = str(value).strip()
        if not v or "\n" in v or "\r" in v:
            raise ValueError(f"The value for {k} must be one non-empty line.")
        clean[k] = v
    return clean


