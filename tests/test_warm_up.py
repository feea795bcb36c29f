"""The sandbox reads the course's service models and builds their apps when it starts, so a
lesson's first call to CloudWatch Logs, SNS or CloudWatch does not pay for them (40-90 ms each)."""

from __future__ import annotations

from moto.core.utils import get_service_model
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from labkit.sandbox import server


def test_warm_up_prepares_every_service_the_course_calls() -> None:
    app = DomainDispatcherApplication(create_backend_app)
    get_service_model.cache_clear()
    server.warm_up(app)
    names = {model for _, model in server.COURSE_SERVICES}
    assert names == {"iam", "sts", "logs", "sns", "cloudwatch", "cloudtrail"}
    assert names <= set(app.app_instances)
    # each model read once, then served from moto's cache
    assert get_service_model.cache_info().currsize == len(names)
    misses = get_service_model.cache_info().misses
    for name in names:
        assert get_service_model(name).service_name == name
    assert get_service_model.cache_info().misses == misses
