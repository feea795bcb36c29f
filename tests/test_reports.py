"""The credential report table, the CIS key checks, their displays, and the account inventory."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from bench.naive_inventory import naive_key_inventory
from labkit import credential_report, reports
from labkit.keys import EXAMPLE_KEY_ID, mask_key_id

NOW = datetime(2026, 1, 31, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "credential_report_aws.csv"
HEADER = DATA.read_text().splitlines()[0]
ROOT = "<root_account>"
ACCOUNT = "123456789012"


def fake_key_id(n: int) -> str:
    """A distinct, obviously fake key ID made from AWS's documented example."""
    return EXAMPLE_KEY_ID[:-4] + f"{n:04d}"


def ago(days: float, hours: float = 0) -> str:
    """A report date `days` (and `hours`) before NOW, written as IAM writes it."""
    return (NOW - timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def line(
    user: str,
    *,
    created: str | None = None,
    password: str = "false",
    key1: tuple[str, str, str] | None = None,
    key2: tuple[str, str, str] | None = None,
) -> str:
    """One credential report line; a key is (active, last_rotated, last_used_date or N/A)."""
    arn = f"arn:aws:iam::{ACCOUNT}:root" if user == ROOT else f"arn:aws:iam::{ACCOUNT}:user/{user}"
    created = created or ago(400)
    if user == ROOT:
        password_fields = ["not_supported", ago(3), "not_supported", "not_supported"]
    elif password == "true":
        password_fields = ["true", "no_information", created, "N/A"]
    else:
        password_fields = ["false", "N/A", "N/A", "N/A"]

    def key(spec: tuple[str, str, str] | None) -> list[str]:
        if spec is None:
            return ["false", "N/A", "N/A", "N/A", "N/A"]
        active, rotated, used = spec
        where = ["N/A", "N/A"] if used == "N/A" else ["us-east-1", "iam"]
        return [active, rotated, used, *where]

    fields = [user, arn, created, *password_fields, "false", *key(key1), *key(key2)]
    fields += ["false", "N/A", "false", "N/A"]
    return ",".join(fields)


def report(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def frame_of(*lines: str, now: datetime = NOW) -> pd.DataFrame:
    return reports.credential_report_frame(report(*lines), now)


def checks(found: pd.DataFrame) -> list[tuple[str, object, str]]:
    return [
        (u, None if pd.isna(s) else int(s), c)
        for u, s, c in zip(found["user"], found["key_slot"], found["check"])
    ]


@pytest.fixture
def aws_frame() -> pd.DataFrame:
    return reports.credential_report_frame(DATA.read_bytes(), NOW)


# --- credential_report_frame ------------------------------------------------------------------


def test_report_gives_one_row_per_existing_key(aws_frame: pd.DataFrame) -> None:
    assert list(zip(aws_frame["user"], aws_frame["key_slot"])) == [
        (ROOT, 1),
        ("alice", 1),
        ("bob", 1),
        ("bob", 2),
        ("carol", 2),
        ("dave", 1),
        ("frank", 1),
    ]
    assert list(aws_frame.columns) == list(reports.KEY_COLUMNS)
    assert aws_frame.dtypes.astype(str).to_dict() == reports.KEY_COLUMNS
    assert aws_frame["key_id"].isna().all()
    assert aws_frame.attrs["now"] == pd.Timestamp(NOW)


def test_report_values_are_typed(aws_frame: pd.DataFrame) -> None:
    rows = aws_frame.set_index(["user", "key_slot"])
    alice = rows.loc[("alice", 1)]
    assert alice["created"] == pd.Timestamp("2025-10-02T14:05:31Z")
    assert alice["age_days"] == 120
    assert alice["days_since_use"] == 1
    assert (alice["last_service"], alice["last_region"]) == ("iam", "us-east-1")
    assert alice["password_enabled"]
    never = rows.loc[("bob", 2)]
    assert pd.isna(never["last_used"]) and pd.isna(never["days_since_use"])
    assert never["last_service"] is None and never["last_region"] is None
    assert rows.loc[("carol", 2), "age_days"] == 60
    assert not rows.loc[("dave", 1), "active"]
    root = rows.loc[(ROOT, 1)]
    assert not root["password_enabled"]  # not_supported
    assert not root["active"]
    assert root["user_created"] == pd.Timestamp("2014-06-12T20:15:02Z")


def test_bytes_and_text_give_the_same_frame() -> None:
    raw = DATA.read_bytes()
    from_bytes = reports.credential_report_frame(raw, NOW)
    from_text = reports.credential_report_frame(raw.decode(), NOW)
    from_bom = reports.credential_report_frame(b"\xef\xbb\xbf" + raw, NOW)
    pd.testing.assert_frame_equal(from_bytes, from_text)
    pd.testing.assert_frame_equal(from_bytes, from_bom)


def test_naive_now_is_taken_as_utc() -> None:
    aware = reports.credential_report_frame(DATA.read_text(), NOW)
    naive = reports.credential_report_frame(DATA.read_text(), NOW.replace(tzinfo=None))
    pd.testing.assert_frame_equal(aware, naive)
    assert naive.attrs["now"] == pd.Timestamp(NOW)


def test_report_without_keys_keeps_every_column_and_dtype() -> None:
    empty = frame_of(line("erin", password="true"))
    assert empty.empty
    assert empty.dtypes.astype(str).to_dict() == reports.KEY_COLUMNS
    assert reports.credential_report_frame(HEADER + "\n", NOW).dtypes.equals(empty.dtypes)
    assert list(reports.findings(empty).columns) == list(reports.FINDING_COLUMNS)


def test_a_user_with_only_slot_two() -> None:
    frame = frame_of(line("carol", key2=("true", ago(10), "N/A")))
    assert frame[["user", "key_slot", "active"]].values.tolist() == [["carol", 2, True]]


def test_something_else_is_not_a_report() -> None:
    with pytest.raises(ValueError, match="credential report"):
        reports.credential_report_frame("name,age\nalice,3\n", NOW)
    with pytest.raises(ValueError, match="empty"):
        reports.credential_report_frame(b"", NOW)


# --- findings -----------------------------------------------------------------------------------


def test_findings_on_an_aws_report(aws_frame: pd.DataFrame) -> None:
    found = reports.findings(aws_frame)
    assert checks(found) == [
        ("alice", 1, "rotation_overdue"),
        ("carol", 2, "unused_key"),
        ("frank", 1, "unused_since_creation"),
        ("bob", None, "two_active_keys"),
    ]
    assert found["severity"].tolist() == ["high", "medium", "medium", "low"]
    assert found["cis"].tolist() == ["1.14", "1.12", "1.11", "1.13"]
    assert found.loc[0, "detail"] == "Key 1 is 120 days old; rotate it (the limit is 90 days)."
    assert list(found.columns) == list(reports.FINDING_COLUMNS)


@pytest.mark.parametrize(
    ("days", "hours", "overdue"),
    [(89, 0, False), (90, 0, False), (90, 23, False), (91, 0, True)],
)
def test_rotation_is_due_after_ninety_whole_days(days: int, hours: int, overdue: bool) -> None:
    frame = frame_of(line("svc", key1=("true", ago(days, hours), ago(1))))
    assert ("rotation_overdue" in checks_of(frame)) is overdue


def checks_of(frame: pd.DataFrame, **kw: object) -> set[str]:
    return set(reports.findings(frame, **kw)["check"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "unused"), [(44, False), (45, True), (46, True)])
def test_a_key_unused_for_45_days_is_unused(days: int, unused: bool) -> None:
    frame = frame_of(line("svc", key1=("true", ago(60), ago(days))))
    assert ("unused_key" in checks_of(frame)) is unused


@pytest.mark.parametrize(("age", "unused"), [(44, False), (45, True)])
def test_a_never_used_key_is_unused_only_once_old_enough(age: int, unused: bool) -> None:
    frame = frame_of(line("svc", key1=("true", ago(age), "N/A")))
    assert ("unused_key" in checks_of(frame)) is unused


def test_an_inactive_old_key_is_neither_overdue_nor_unused() -> None:
    frame = frame_of(
        line("old", key1=("false", ago(500), "N/A"), key2=("false", ago(300), ago(200)))
    )
    assert reports.findings(frame).empty


def test_thresholds_can_be_changed() -> None:
    frame = frame_of(line("svc", key1=("true", ago(40), ago(20))))
    assert checks_of(frame) == set()
    assert checks_of(frame, rotation_days=30, unused_days=14) == {"rotation_overdue", "unused_key"}


def test_root_with_an_active_key_is_critical() -> None:
    frame = frame_of(
        line("alice", key1=("true", ago(200), ago(1))),
        line(ROOT, key1=("true", ago(5), ago(1))),
    )
    found = reports.findings(frame)
    assert checks(found)[0] == (ROOT, 1, "root_access_key")
    assert found.loc[0, ["severity", "cis"]].tolist() == ["critical", "1.4"]


def test_root_with_an_inactive_key_is_fine() -> None:
    frame = frame_of(line(ROOT, key1=("false", ago(900), ago(800))))
    assert reports.findings(frame).empty


def test_two_active_keys_is_one_finding_per_user() -> None:
    frame = frame_of(
        line("bob", key1=("true", ago(20), ago(1)), key2=("true", ago(3), ago(1))),
        line("cy", key1=("true", ago(20), ago(1)), key2=("false", ago(3), "N/A")),
    )
    found = reports.findings(frame)
    assert checks(found) == [("bob", None, "two_active_keys")]
    assert found["key_slot"].dtype == "Int64"


def test_keys_made_with_a_console_user_and_never_used() -> None:
    made = ago(10)
    frame = frame_of(
        line("console", created=made, password="true", key1=("true", made, "N/A")),
        line("later", created=ago(30), password="true", key1=("true", made, "N/A")),
        line("no-console", created=made, key1=("true", made, "N/A")),
        line("used", created=made, password="true", key1=("true", made, ago(1))),
    )
    assert checks(reports.findings(frame)) == [("console", 1, "unused_since_creation")]
    # A table without the user columns still gets the other checks.
    slim = frame.drop(columns=["user_created", "password_enabled"])
    assert reports.findings(slim).empty


def test_moving_the_clock_forward_makes_a_key_fall_due() -> None:
    frame = frame_of(line("svc", key1=("true", ago(80), ago(1))))
    assert reports.findings(frame).empty
    later = reports.findings(frame, NOW + timedelta(days=11))
    assert checks(later) == [("svc", 1, "rotation_overdue")]
    assert later.loc[0, "detail"] == "Key 1 is 91 days old; rotate it (the limit is 90 days)."
    much_later = reports.findings(frame, NOW + timedelta(days=60))
    assert set(much_later["check"]) == {"rotation_overdue", "unused_key"}


# --- displays -----------------------------------------------------------------------------------


def css_rules(html: str) -> dict[str, set[str]]:
    """Each CSS declaration in a Styler's HTML, with the cell ids it applies to."""
    rules: dict[str, set[str]] = {}
    for selectors, body in re.findall(
        r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0].split(">", 1)[1]
    ):
        ids = {s.strip().lstrip("#") for s in selectors.split(",")}
        for declaration in body.split(";"):
            if declaration.strip():
                rules.setdefault(declaration.strip(), set()).update(ids)
    return rules


def rows_of(cell_ids: set[str]) -> set[int]:
    """The table row numbers in a set of Styler cell ids."""
    return {int(re.search(r"_row(\d+)_", i).group(1)) for i in cell_ids}  # type: ignore[union-attr]


def test_key_table_renders_the_same_html_every_time(aws_frame: pd.DataFrame) -> None:
    first = reports.style_keys(aws_frame).to_html()
    second = reports.style_keys(aws_frame.copy()).to_html()
    assert first == second


def test_key_table_highlights_rows_needing_action(aws_frame: pd.DataFrame) -> None:
    html = reports.style_keys(aws_frame).to_html()
    red = css_rules(html)[f"background-color: {reports.ACTION_BACKGROUND}"]
    grey = css_rules(html)[f"color: {reports.INACTIVE_COLOUR}"]
    # alice (overdue), bob's two keys, carol (unused), frank (made with the user)
    assert rows_of(red) == {1, 2, 3, 4, 6}
    assert rows_of(grey) == {0, 5}  # the root's and dave's inactive keys
    assert "2025-10-02" in html and "14:05:31" not in html
    assert "&lt;root_account&gt;" in html
    assert "row_heading" not in html  # no index column
    assert "rotation_overdue" in html


def test_key_table_follows_the_given_now(aws_frame: pd.DataFrame) -> None:
    html = reports.style_keys(aws_frame, NOW + timedelta(days=40)).to_html()
    red = css_rules(html)[f"background-color: {reports.ACTION_BACKGROUND}"]
    assert any("_row2_" in i for i in red)
    assert ">69<" in html  # bob's first key, now 69 days old


def test_findings_table_is_deterministic_and_coloured(aws_frame: pd.DataFrame) -> None:
    found = reports.findings(aws_frame)
    html = reports.style_findings(found).to_html()
    assert html == reports.style_findings(found.copy()).to_html()
    assert 'id="T_labkit-findings"' in html
    high = css_rules(html)["background-color: #d9363e"]
    assert high == {"T_labkit-findings_row0_col3"}
    assert "<NA>" not in html and "row_heading" not in html


SVG = "{http://www.w3.org/2000/svg}"


def chart_svg(chart: reports.ChartDisplay) -> ET.Element:
    """The chart's SVG as the browser parses it (the figure's first child)."""
    figure = ET.fromstring(chart._repr_html_().replace("<details>", "<details open=''>"))
    return figure[0]


def test_age_chart_has_a_bar_per_key_and_the_limit(aws_frame: pd.DataFrame) -> None:
    svg = chart_svg(reports.key_age_chart(aws_frame))
    bars = svg.findall(f"{SVG}rect[@class='labkit-bar']")
    assert len(bars) == len(aws_frame)
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert labels[1] == "alice (key 1)"
    widths = [float(b.get("width")) for b in bars]  # type: ignore[arg-type]
    # Bars are as long as the keys are old: alice's 120 days, bob's 29, on one scale.
    assert widths[1] / widths[2] == pytest.approx(120 / 29, rel=0.01)
    assert bars[2].get("fill") == reports.OK_COLOUR  # bob, 29 days
    (limit,) = svg.findall(f"{SVG}line[@class='labkit-limit']")
    left = float(bars[0].get("x"))  # type: ignore[arg-type]
    limit_x = float(limit.get("x1"))  # type: ignore[arg-type]
    assert limit_x - left == pytest.approx(widths[1] * 90 / 120, abs=0.2)
    assert limit.get("stroke-dasharray")
    assert "rotate by 90 days" in [t.text for t in svg.iter(f"{SVG}text")]


def test_age_chart_copes_with_no_keys() -> None:
    chart = reports.key_age_chart(frame_of(line("erin")), NOW)
    svg = chart_svg(chart)
    assert svg.findall(f"{SVG}rect[@class='labkit-bar']") == []
    assert "No access keys" in [t.text for t in svg.iter(f"{SVG}text")]
    assert repr(chart) == "Bar chart of access key ages: there are no access keys."


# --- key_inventory on a stubbed IAM client (botocore's Stubber: AWS's own request checks) -------


GENERATED = datetime(2026, 1, 30, 23, 59, tzinfo=UTC)


@pytest.fixture
def stubbed():
    """A real boto3 IAM client whose answers come from a botocore Stubber, in order."""
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id=EXAMPLE_KEY_ID,
                          aws_secret_access_key="not-used-the-stubber-answers")
    with Stubber(client) as stubber:
        yield client, stubber


def expect_report(stubber: Stubber, content: bytes, states: list[str]) -> None:
    """GenerateCredentialReport answers each of `states` in turn, then GetCredentialReport."""
    for state in states:
        stubber.add_response("generate_credential_report", {"State": state}, {})
    if states[-1] == "COMPLETE":
        stubber.add_response("get_credential_report", {
            "Content": content, "ReportFormat": "text/csv", "GeneratedTime": GENERATED}, {})


def expect_keys(stubber: Stubber, user: str, keys: list[dict] | None) -> None:
    """ListAccessKeys for `user`: its keys, or NoSuchEntity when it has gone (None)."""
    if keys is None:
        stubber.add_client_error("list_access_keys", service_error_code="NoSuchEntity",
                                 service_message=f"The user with name {user} cannot be found.",
                                 http_status_code=404, expected_params={"UserName": user})
    else:
        stubber.add_response("list_access_keys", {"AccessKeyMetadata": keys, "IsTruncated": False},
                             {"UserName": user})


def listed(n: int, user: str, created: str, status: str = "Active") -> dict:
    return {
        "UserName": user,
        "AccessKeyId": fake_key_id(n),
        "Status": status,
        "CreateDate": pd.Timestamp(created).to_pydatetime() + timedelta(microseconds=418_000),
    }


def test_inventory_waits_for_the_report_and_masks_matched_key_ids(stubbed) -> None:
    client, stubber = stubbed
    content = report(
        line("bob", key1=("true", ago(20), ago(1)), key2=("true", ago(3), "N/A")),
        line("carol", key2=("true", ago(10), "N/A")),
        line("gone", key1=("true", ago(10), "N/A")),
    ).encode()
    expect_report(stubber, content, ["STARTED", "STARTED", "COMPLETE"])
    # Listed newest first, so only the dates can put them in the right slots.
    expect_keys(stubber, "bob", [listed(2, "bob", ago(3)), listed(1, "bob", ago(20))])
    expect_keys(stubber, "carol", [listed(3, "carol", ago(10))])
    expect_keys(stubber, "gone", None)  # deleted after the report was made
    frame = reports.key_inventory(client, now=NOW)
    stubber.assert_no_pending_responses()
    assert frame["key_id"].tolist() == [
        mask_key_id(fake_key_id(1)),
        mask_key_id(fake_key_id(2)),
        mask_key_id(fake_key_id(3)),
        None,
    ]
    assert frame["key_id"].tolist()[0] == "AKIA************0001"
    assert frame.attrs["generated"] == pd.Timestamp("2026-01-30T23:59Z")
    assert frame.attrs["now"] == pd.Timestamp(NOW)
    assert list(frame.columns) == list(reports.KEY_COLUMNS)


def test_inventory_falls_back_to_key_order_when_dates_differ(stubbed) -> None:
    client, stubber = stubbed
    content = report(line("bob", key1=("true", ago(20), "N/A"), key2=("false", ago(3), "N/A")))
    expect_report(stubber, content.encode(), ["COMPLETE"])
    expect_keys(stubber, "bob", [listed(5, "bob", ago(2)), listed(4, "bob", ago(19))])
    frame = reports.key_inventory(client, now=NOW)
    assert frame["key_id"].tolist() == [mask_key_id(fake_key_id(4)), mask_key_id(fake_key_id(5))]


def test_inventory_skips_key_ids_for_big_accounts(stubbed, monkeypatch: pytest.MonkeyPatch) -> None:
    client, stubber = stubbed
    monkeypatch.setattr(credential_report, "MAX_USERS_FOR_KEY_IDS", 1)
    content = report(
        line("a", key1=("true", ago(20), "N/A")), line("b", key1=("true", ago(20), "N/A"))
    )
    expect_report(stubber, content.encode(), ["COMPLETE"])  # and no ListAccessKeys at all
    frame = reports.key_inventory(client, now=NOW)
    stubber.assert_no_pending_responses()
    assert frame["key_id"].isna().all() and len(frame) == 2


def test_inventory_gives_up_with_a_clear_error(stubbed, monkeypatch: pytest.MonkeyPatch) -> None:
    client, stubber = stubbed
    monkeypatch.setattr(credential_report, "REPORT_TIMEOUT_SECONDS", 0.2)
    # More STARTED answers than 0.2 s of polling can use; a GetCredentialReport would fail.
    expect_report(stubber, b"", ["STARTED"] * 200)
    polls: list[str] = []
    client.meta.events.register("before-parameter-build.iam",
                                lambda model, **_: polls.append(model.name))
    with pytest.raises(reports.CredentialReportTimeout, match="did not finish the credential"):
        reports.key_inventory(client, now=NOW)
    assert 2 <= len(polls) < 200 and set(polls) == {"GenerateCredentialReport"}


def test_report_keys_asks_for_the_report_only(stubbed) -> None:
    client, stubber = stubbed
    content = report(line("bob", key1=("true", ago(20), ago(1)), key2=("false", ago(3), "N/A")))
    expect_report(stubber, content.encode(), ["COMPLETE"])
    frame = reports.report_keys(client, now=NOW)  # a ListAccessKeys would fail: none is stubbed
    stubber.assert_no_pending_responses()
    assert frame[["user", "key_slot", "active", "age_days"]].values.tolist() == [
        ["bob", 1, True, 20], ["bob", 2, False, 3]]
    assert frame["key_id"].isna().all()
    assert frame.attrs["generated"] == GENERATED


def test_inventory_and_report_keys_on_a_lab_client(lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName="temporary-iam-user")
    made = iam.create_access_key(UserName="temporary-iam-user")["AccessKey"]["AccessKeyId"]
    frame = reports.key_inventory(iam)  # the client is the first argument, as in AWS's examples
    row = frame[frame["user"] == "temporary-iam-user"].iloc[0]
    assert row["key_id"] == mask_key_id(made) and row["active"]
    assert {"console-admin", "temporary-iam-user"} <= set(frame["user"])
    bare = reports.report_keys(iam)  # one report, no ListAccessKeys: no key IDs
    assert list(bare["user"]) == list(frame["user"])
    assert bare["key_id"].isna().all() and bare.attrs["generated"] is not None
    with pytest.raises(TypeError):
        reports.key_inventory()  # type: ignore[call-arg]  # no hidden session to fall back on


# --- key_inventory against moto -----------------------------------------------------------------


class MotoClock:
    """moto's IAM clock, fixed, so the keys it makes have known dates."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime(2025, 10, 1, 9, 0, 0)  # naive UTC, as moto keeps it
        monkeypatch.setattr("moto.iam.models.utcnow", lambda: self.now)


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def moto_clock(monkeypatch: pytest.MonkeyPatch) -> MotoClock:
    return MotoClock(monkeypatch)


def test_inventory_and_naive_loop_agree_on_moto(iam, moto_clock: MotoClock) -> None:
    for name in ("ana", "ben", "cat"):
        iam.create_user(UserName=name)
    iam.create_login_profile(UserName="ana", Password="Correct-Horse-9")
    ana = iam.create_access_key(UserName="ana")["AccessKey"]["AccessKeyId"]
    moto_clock.now = datetime(2025, 12, 20, 15, 30, 0)
    ben = [iam.create_access_key(UserName="ben")["AccessKey"]["AccessKeyId"]]
    moto_clock.now += timedelta(hours=1)
    ben.append(iam.create_access_key(UserName="ben")["AccessKey"]["AccessKeyId"])
    iam.update_access_key(UserName="ben", AccessKeyId=ben[1], Status="Inactive")
    # cat has no keys, so no rows.
    fast = reports.key_inventory(iam, now=NOW)
    slow = naive_key_inventory(iam, now=NOW)

    assert fast[["user", "key_slot", "active", "age_days"]].values.tolist() == [
        ["ana", 1, True, 121],
        ["ben", 1, True, 41],
        ["ben", 2, False, 41],
    ]
    assert fast["key_id"].tolist() == [mask_key_id(k) for k in [ana, *ben]]
    assert slow["key_id"].tolist() == [ana, *ben]
    assert fast["password_enabled"].tolist() == [True, False, False]
    same = [c for c in reports.KEY_COLUMNS if c != "key_id"]
    pd.testing.assert_frame_equal(fast[same], slow[same])
    # moto writes not_supported where AWS names the last service and region; both mean None.
    assert fast["last_service"].isna().all() and fast["last_region"].isna().all()
    assert checks(reports.findings(fast)) == [
        ("ana", 1, "rotation_overdue"),
        ("ana", 1, "unused_since_creation"),
        ("ana", 1, "unused_key"),
    ]
    # moto's report carries a fixed GeneratedTime, whatever the clock says.
    assert isinstance(fast.attrs["generated"], pd.Timestamp)


def test_inventory_on_moto_after_deleting_a_first_key(iam, moto_clock: MotoClock) -> None:
    iam.create_user(UserName="dee")
    first = iam.create_access_key(UserName="dee")["AccessKey"]["AccessKeyId"]
    moto_clock.now += timedelta(days=1)
    second = iam.create_access_key(UserName="dee")["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName="dee", AccessKeyId=first)
    fast = reports.key_inventory(iam, now=NOW)
    # moto lists keys by position, so the surviving key moves up into slot 1.
    assert fast[["user", "key_slot", "key_id"]].values.tolist() == [["dee", 1, mask_key_id(second)]]
    assert fast.loc[0, "created"] == pd.Timestamp("2025-10-02T09:00:00Z")
    slow = naive_key_inventory(iam, now=NOW)
    assert slow[["user", "key_slot", "key_id"]].values.tolist() == [["dee", 1, second]]


def test_inventory_needs_a_generated_report_on_moto(iam) -> None:
    with pytest.raises(ClientError) as caught:
        iam.get_credential_report()
    assert caught.value.response["Error"]["Code"] == "ReportNotPresent"
    assert reports.key_inventory(iam, now=NOW).empty


# --- accessible display: contrast, a keyboard-reachable table, the chart in words ----------------


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def lum(colour: str) -> float:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        f = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * f[0] + 0.7152 * f[1] + 0.0722 * f[2]

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_inactive_rows_are_readable_on_every_row_background() -> None:
    # White, JupyterLab's striped rows, and the tint of rows needing action (WCAG AA: 4.5:1).
    for background in ("#ffffff", "#f5f5f5", reports.ACTION_BACKGROUND):
        assert contrast(reports.INACTIVE_COLOUR, background) >= 4.5, background


def test_key_table_is_a_labelled_region_the_keyboard_can_scroll(aws_frame: pd.DataFrame) -> None:
    shown = reports.style_keys(aws_frame, NOW)._repr_html_()
    assert shown.startswith('<div class="labkit-table" role="region" aria-label="Access keys" '
                            'tabindex="0" style="overflow-x: auto; max-width: 100%">')
    assert "<caption>Access keys. Tinted rows need action" in shown
    assert "Key ages on 2026-01-31." in shown
    assert ">days since use<" in shown  # headings that can wrap, so the table is narrower
    grey = css_rules(reports.style_keys(aws_frame).to_html())["font-style: italic"]
    assert rows_of(grey) == {0, 5}  # inactive rows differ in more than colour
    unbroken = css_rules(reports.style_keys(aws_frame).to_html())["white-space: nowrap"]
    columns = {re.search(r"_col(\d+)$", i).group(1) for i in unbroken}  # type: ignore[union-attr]
    assert columns == {"4", "6", "9"}  # created, last used, last region: never broken
    assert 'role="region"' in reports.style_findings(reports.findings(aws_frame))._repr_html_()


def test_age_chart_says_its_facts_in_words_and_patterns(aws_frame: pd.DataFrame) -> None:
    svg = chart_svg(reports.key_age_chart(aws_frame, NOW))
    words = [t.text for t in svg.findall(f"{SVG}text[@class='labkit-bar-label']")]
    assert words[1] == "120 d, past the limit"  # alice
    assert words[2] == "29 d, within the limit"  # bob
    assert words[5] == "399 d, inactive"  # dave
    bars = svg.findall(f"{SVG}rect[@class='labkit-bar']")
    patterns = {p.get("id"): p for p in svg.iter(f"{SVG}pattern")}

    def pattern(bar: ET.Element) -> ET.Element | None:
        fill = bar.get("fill", "")
        return patterns.get(fill[5:-1]) if fill.startswith("url(#") else None

    overdue, inactive = pattern(bars[1]), pattern(bars[5])
    assert overdue is not None and overdue.get("id", "").endswith(reports.OVERDUE_PATTERN)
    assert inactive is not None and inactive.get("id", "").endswith(reports.INACTIVE_PATTERN)
    rects = [p.find(f"{SVG}rect") for p in (overdue, inactive)]
    assert [None if r is None else r.get("fill") for r in rects] == [
        reports.OVERDUE_COLOUR, reports.INACTIVE_COLOUR]
    assert overdue.find(f"{SVG}line") is not None  # stripes
    assert inactive.find(f"{SVG}circle") is not None  # dots
    assert pattern(bars[2]) is None  # within the limit: plain
    assert contrast(reports.OK_COLOUR, "#ffffff") >= 3  # bars are graphics: 3:1 (WCAG 1.4.11)
    # The legend names each look in words.
    legend = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"active, past the limit", "active, within the limit", "inactive"} <= legend


def test_two_charts_do_not_share_pattern_ids(aws_frame: pd.DataFrame) -> None:
    ids = [{p.get("id") for p in chart_svg(reports.key_age_chart(aws_frame, NOW))
            .iter(f"{SVG}pattern")} for _ in range(2)]
    assert len(ids[0]) == 2 and not ids[0] & ids[1]


def test_age_chart_text_alternative_and_table(aws_frame: pd.DataFrame) -> None:
    summary = reports.key_age_summary(aws_frame, NOW)
    assert summary.startswith("Bar chart of access key ages, 7 keys, against the 90-day")
    assert "Active, 1 past the limit: alice key 1 (120 days)." in summary
    assert "2 inactive: <root_account> key 1" in summary
    table = reports.key_age_table(aws_frame, NOW)
    assert list(table.columns) == ["user", "key", "age_days", "state"]
    assert table.loc[1].tolist() == ["alice", 1, 120, "past the limit"]
    chart = reports.key_age_chart(aws_frame, NOW)
    shown = chart._repr_html_()
    svg = chart_svg(chart)
    assert svg.get("role") == "img" and svg.get("aria-label") == summary
    assert svg.find(f"{SVG}title").text == summary  # type: ignore[union-attr]
    assert "<td>alice</td><td>1</td><td>120</td><td>past the limit</td>" in shown
    assert "&lt;root_account&gt; (key 1)" in shown  # the root's name is text, not a tag
    assert "<figcaption>" in shown and "<summary>" in shown
    empty = reports.key_age_summary(frame_of(line("erin")), NOW)
    assert empty == "Bar chart of access key ages: there are no access keys."


def test_registered_table_display_puts_any_frame_in_a_scrollable_region() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert reports.register_table_display(shell) is True
        data, _ = shell.display_formatter.format(pd.DataFrame({"time": [1], "event": ["x"]}))
        assert data["text/html"].startswith('<div class="labkit-table" role="region" '
                                            'aria-label="Table" tabindex="0"')
        assert "<th>event</th>" in data["text/html"]
    finally:
        shell.display_formatter.formatters["text/html"].pop(pd.DataFrame, None)
        InteractiveShell.clear_instance()
    assert reports.register_table_display() is False  # no notebook here: nothing to do


@pytest.mark.parametrize(
    ("key_after_user", "flagged"),
    [
        (timedelta(0), True),
        (timedelta(days=1), True),  # made the day after the user: still "along with" it
        (timedelta(days=1, seconds=1), False),
        (timedelta(days=2), False),
        (-timedelta(days=1), True),  # a key dated before its user (clock skew) counts too
        (-timedelta(days=1, seconds=1), False),
    ],
)
def test_keys_made_along_with_the_user_means_within_one_day(
    key_after_user: timedelta, flagged: bool
) -> None:
    user_made = NOW - timedelta(days=10)
    key_made = user_made + key_after_user
    stamp = "%Y-%m-%dT%H:%M:%S+00:00"
    frame = frame_of(
        line(
            "console",
            created=user_made.strftime(stamp),
            password="true",
            key1=("true", key_made.strftime(stamp), "N/A"),
        )
    )
    found = reports.findings(frame)
    assert ("unused_since_creation" in set(found["check"])) is flagged
    if flagged:
        assert found.loc[0, "detail"] == (
            "Key 1 was made along with this console user and has never been used; "
            "delete it and create keys only when they are needed."
        )


def test_text_with_a_byte_order_mark_reads_like_bytes() -> None:
    raw = DATA.read_bytes()
    from_text = reports.credential_report_frame("\ufeff" + raw.decode(), NOW)
    pd.testing.assert_frame_equal(from_text, reports.credential_report_frame(raw, NOW))


def test_missing_columns_are_named_three_at_most() -> None:
    with pytest.raises(ValueError) as one:
        reports.credential_report_frame(report().replace(",cert_2_last_rotated", ""), NOW)
    assert str(one.value) == (
        "This does not look like an IAM credential report; it has no cert_2_last_rotated column."
    )
    with pytest.raises(ValueError) as four:
        reports.credential_report_frame("user,arn,mfa_active\n", NOW)
    assert str(four.value) == (
        "This does not look like an IAM credential report; it has no "
        "user_creation_time, password_enabled, password_last_used ... column."
    )
    first = ("user_creation_time", "password_enabled", "password_last_used", "mfa_active")
    for n, end in ((3, " column."), (4, " ... column.")):
        header = ",".join(c for c in reports.REPORT_COLUMNS if c not in first[:n])
        with pytest.raises(ValueError) as err:
            reports.credential_report_frame(header + "\n", NOW)
        assert str(err.value).endswith(", ".join(first[:3]) + end)


def test_a_date_iam_never_writes_is_named() -> None:
    bad = line("svc", key1=("true", "yesterday", "N/A"))
    with pytest.raises(ValueError) as err:
        frame_of(bad)
    assert str(err.value) == "The credential report has a date IAM never writes: 'yesterday'"


def test_keys_made_or_used_today_or_a_little_ahead_are_zero_days() -> None:
    ahead = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    frame = frame_of(
        line("today", key1=("true", ago(0, 2), ago(0, 1))),
        line("skewed", key1=("true", ahead, ahead)),
        line("yesterday", key1=("true", ago(1), ago(1))),
    )
    assert frame["age_days"].tolist() == [0, 0, 1]
    assert frame["days_since_use"].tolist() == [0, 0, 1]


def test_findings_on_a_hand_made_table_take_naive_times_as_utc() -> None:
    made = datetime(2025, 10, 1)  # naive: UTC
    table = pd.DataFrame(
        {
            "user": ["svc", "svc"],
            "key_slot": [2, 1],
            "active": [True, True],
            "created": [made, made],
            "last_used": [pd.NaT, datetime(2026, 1, 30)],
        }
    )
    found = reports.findings(table, NOW)
    # Slot 1 before slot 2 whatever the table's order; the pair of keys last.
    assert checks(found) == [
        ("svc", 1, "rotation_overdue"),
        ("svc", 2, "rotation_overdue"),
        ("svc", 2, "unused_key"),
        ("svc", None, "two_active_keys"),
    ]
    assert found["detail"].tolist() == [
        "Key 1 is 122 days old; rotate it (the limit is 90 days).",
        "Key 2 is 122 days old; rotate it (the limit is 90 days).",
        "Key 2 has never been used in its 122 days; "
        "deactivate or delete it (the limit is 45 days).",
        "svc has 2 active keys; keep one active except while rotating.",
    ]
    assert found.attrs["now"] == pd.Timestamp(NOW)


def test_findings_details_for_root_and_a_long_unused_key() -> None:
    frame = frame_of(
        line(ROOT, key1=("true", ago(10), ago(1))),
        line("svc", key2=("true", ago(60), ago(50))),
    )
    found = reports.findings(frame)
    assert found["detail"].tolist() == [
        "The root user has an active access key (key 1); "
        "delete it and use an IAM user or role instead.",
        "Key 2 was last used 50 days ago; deactivate or delete it (the limit is 45 days).",
    ]


def test_findings_remember_the_now_they_used() -> None:
    frame = frame_of(line("svc", key1=("true", ago(80), ago(1))))
    assert reports.findings(frame).attrs["now"] == pd.Timestamp(NOW)
    later = NOW + timedelta(days=11)
    found = reports.findings(frame, later)
    assert found.attrs["now"] == pd.Timestamp(later)
    assert checks(found) == [("svc", 1, "rotation_overdue")]


def test_a_table_without_the_key_columns_says_which() -> None:
    with pytest.raises(ValueError) as err:
        reports.findings(pd.DataFrame({"user": ["svc"], "key_slot": [1]}), NOW)
    assert str(err.value) == "The key table has no active, created, last_used column(s)."
