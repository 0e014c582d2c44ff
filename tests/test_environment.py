"""The conda environment and the pip requirements pin the same packages at the same versions."""
import re
from pathlib import Path

import yaml

from grader.paths import REPO_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)$")


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def requirements_pins() -> dict[str, str]:
    return pins((REPO_ROOT / "requirements.txt").read_text().splitlines())


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return pins(pip_section)


def test_requirements_and_environment_agree():
    assert requirements_pins() == conda_pins()


def test_every_requirement_is_pinned():
    lines = [l.strip() for l in (REPO_ROOT / "requirements.txt").read_text().splitlines()]
    unpinned = [l for l in lines if l and not l.startswith("#") and not PIN.match(l)]
    assert unpinned == []


def test_torch_pins_are_the_supported_pair():
    assert requirements_pins()["torch"] == "2.14.1"
    assert requirements_pins()["torchvision"] == "0.29.1"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    mismatched = {name: (pinned, version(name)) for name, pinned in requirements_pins().items()
                  if not version(name).startswith(pinned)}
    assert mismatched == {}


def test_environment_python_matches_project():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert Path(REPO_ROOT / "pyproject.toml").read_text().count('requires-python = ">=3.11,<3.12"') == 1
