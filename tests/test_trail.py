"""The activity trail: who used which key, when, and what AWS refused."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit import iam, trail
from labkit.keys import mask_key_id


def test_the_trail_shows_who_used_which_key_and_what_was_refused(lab) -> None:
    client = lab.client("iam")
    iam.create_user(client)
    old = iam.create_access_key(client)
    lab.whoami(lab.session_for(old))
    new = iam.create_access_key(client)
    lab.whoami(lab.session_for(old))  # still used after the rotation: accepted
    iam.update_access_key(client, old.access_key_id, "Inactive")
    with pytest.raises(ClientError):
        lab.whoami(lab.session_for(old))  # refused now
    lab.whoami(lab.session_for(new))

    mine = trail.events(lab, user=iam.USER_NAME)
    assert "simulated CloudTrail" in mine.attrs["source"]
    assert set(mine["key"]) == {mask_key_id(old.access_key_id), mask_key_id(new.access_key_id)}
    assert old.reveal_secret() not in mine.to_string()

    after = trail.other_keys_since(lab, iam.USER_NAME, new)
    assert list(after["event"]) == ["GetCallerIdentity", "GetCallerIdentity"]
    assert after["error"].isna().tolist() == [True, False]
    assert after["error"].iloc[1] == "InvalidClientTokenId"
