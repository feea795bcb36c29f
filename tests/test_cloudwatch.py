"""Lesson 06, Step 5: a CloudWatch metric filter on the trail's log group and an alarm on it,
checked against the sandbox: red for the half-done and the silent, green for boto3 and the CLI."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from labkit import course
from tests.test_profiles import aws_cli

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

LESSON = "06_monitor_key_age_and_usage"
GROUP = "labkit-cloudtrail-logs"
ROOT = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }')
METRIC = {"metricName": "RootUsage", "metricNamespace": "CloudTrailMetrics", "metricValue": "1"}


def _alarm(lesson: course.Lesson, **changes: Any) -> None:
    topic = lesson.client("sns").create_topic(Name="labkit-security-alerts")["TopicArn"]
    settings: dict[str, Any] = {
        "AlarmName": "labkit-root-usage", "Namespace": "CloudTrailMetrics", "MetricName": "RootUsage",
        "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": [topic]}
    settings.update(changes)
    lesson.client("cloudwatch").put_metric_alarm(**{k: v for k, v in settings.items()
                                                    if v is not None})


def _filter(lesson: course.Lesson, pattern: str = ROOT) -> None:
    logs = lesson.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.put_metric_filter(logGroupName=GROUP, filterName="labkit-root-usage", filterPattern=pattern,
                           metricTransformations=[METRIC])


@pytest.fixture
def lesson(lab) -> course.Lesson:
    return course.start(LESSON)


def test_nothing_set_up_is_red(lesson: course.Lesson) -> None:
    verdict = lesson.verify("root_alarm")
    assert not verdict.ok and "No metric filter" in verdict.title


def test_an_alarm_without_a_filter_counting_root_is_red(lesson: course.Lesson) -> None:
    """The cheaper way: an alarm on a metric nothing counts (a filter on something else)."""
    _filter(lesson, '{ $.eventName = "ConsoleLogin" }')
    _alarm(lesson)
    assert not lesson.verify("root_alarm").ok


def test_a_filter_without_an_alarm_is_red(lesson: course.Lesson) -> None:
    _filter(lesson)
    verdict = lesson.verify("root_alarm")
    assert not verdict.ok and "no alarm" in verdict.title


@pytest.mark.parametrize("changes", [{"AlarmActions": None}, {"Threshold": 5}],
                         ids=["tells-nobody", "fires-at-the-fifth"])
def test_an_alarm_that_stays_silent_at_the_first_root_request_is_red(
        lesson: course.Lesson, changes: dict[str, Any]) -> None:
    _filter(lesson)
    _alarm(lesson, **changes)
    verdict = lesson.verify("root_alarm")
    assert not verdict.ok and "would not tell anyone" in verdict.title


def test_the_lessons_calls_are_green(lesson: course.Lesson) -> None:
    _filter(lesson)
    _alarm(lesson)
    verdict = lesson.verify("root_alarm")
    assert verdict.ok and "root-usage" in verdict.title


def test_the_cli_commands_the_lesson_names_are_green(lesson: course.Lesson) -> None:
    """The commands beside the cells, run by the real AWS CLI against the lab's [default]."""
    env = dict(os.environ)  # connect() pointed AWS_* at the lab's sandbox and CLI files

    def aws(*args: str) -> str:
        done = subprocess.run([aws_cli(), *args, "--output", "text"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    aws("logs", "create-log-group", "--log-group-name", GROUP)
    aws("logs", "put-metric-filter", "--log-group-name", GROUP, "--filter-name",
        "labkit-root-usage", "--filter-pattern", ROOT, "--metric-transformations",
        "metricName=RootUsage,metricNamespace=CloudTrailMetrics,metricValue=1")
    topic = aws("sns", "create-topic", "--name", "labkit-security-alerts", "--query", "TopicArn")
    aws("cloudwatch", "put-metric-alarm", "--alarm-name", "labkit-root-usage", "--namespace",
        "CloudTrailMetrics", "--metric-name", "RootUsage", "--statistic", "Sum", "--period", "300",
        "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator",
        "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching",
        "--alarm-actions", topic)
    assert lesson.verify("root_alarm").ok
