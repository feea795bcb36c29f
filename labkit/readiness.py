"""Is everything the course needs in place: the sandbox (or AWS), the AWS CLI, the widgets?"""

from __future__ import annotations

from labkit.session import Lab
from labkit.verdicts import Verdict


def readiness(lab: Lab) -> list[Verdict]:
    """Everything the course needs, checked: the sandbox (or AWS), the AWS CLI, the widgets."""
    import shutil
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    out = [Verdict(True, f"Connected: {lab.identity.arn}")]
    aws = shutil.which("aws")
    if aws:
        try:
            found = f"aws-cli/{version('awscli')}"
        except PackageNotFoundError:
            found = aws
        out.append(Verdict(True, f"AWS CLI found: {found}"))
    else:
        out.append(Verdict(False, "The AWS CLI (aws) was not found.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    # Installed is enough to know: importing ipywidgets here would cost a lesson with no
    # widgets (lesson 00) a few MB for as long as its kernel lives.
    try:
        if find_spec("anywidget") is None or find_spec("ipywidgets") is None:
            raise ImportError("ipywidgets or anywidget")
        out.append(Verdict(True, f"ipywidgets {version('ipywidgets')} ready"))
    except (ImportError, PackageNotFoundError):
        out.append(Verdict(False, "ipywidgets or anywidget is missing.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    return out
