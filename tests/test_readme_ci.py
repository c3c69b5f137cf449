"""The README's CI recipes: the workflow files parse, and the cnncalc commands in them work."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from clirun import runner

from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _yaml_block(heading: str) -> dict:
    section = README[README.index(heading) :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)[1]
    return yaml.safe_load(block)


def _run(command: str, monkeypatch) -> tuple[int, str]:
    """Run a recipe's `cnncalc ...` line from the repository root, as a shell would expand it."""
    monkeypatch.chdir(ROOT)
    command = command.replace("origin/${{ github.base_ref }}", "HEAD")  # the base branch, here
    command = re.split(r"\s+>>?\s+", command)[0]  # the redirection is the CI system's business
    words = shlex.split(command)
    assert words[0] == "cnncalc"
    args = [expanded for word in words[1:] for expanded in (sorted(glob.glob(word)) or [word])]
    result = runner().invoke(cli, args)
    return result.exit_code, result.stdout


def _bundled_budgets() -> tuple[int, int]:
    """(spec files, budgets they set) in architectures/."""
    from cnncalc.spec import load_file

    paths = sorted((ROOT / "architectures").glob("*.yaml"))
    return len(paths), sum(len(load_file(str(path)).budget.limits) for path in paths)


def test_github_actions_recipe(monkeypatch):
    workflow = _yaml_block("### GitHub Actions")
    steps = workflow["jobs"]["cnncalc"]["steps"]
    commands = [step["run"] for step in steps if str(step.get("run", "")).startswith("cnncalc")]
    assert len(commands) == 2
    status, out = _run(commands[0], monkeypatch)
    assert status == 0
    files, budgets = _bundled_budgets()
    assert out.startswith(f"cnncalc: {budgets} budgets checked in {files} files, 0 exceeded")
    if (
        shutil.which("git")
        and subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0
    ):
        status, out = _run(commands[1], monkeypatch)
        assert status == 0 and out.startswith("**cnncalc diff**")


def test_gitlab_recipe(monkeypatch):
    job = _yaml_block("### GitLab CI")["model-budgets"]
    assert job["artifacts"]["reports"]["junit"] == "cnncalc-report.xml"
    (command,) = [line for line in job["script"] if line.startswith("cnncalc")]
    status, out = _run(command, monkeypatch)
    assert status == 0
    root = ET.fromstring(out.split("\n", 1)[1])
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(_bundled_budgets()[1]), "0", "0")


def test_pre_commit_recipe_names_the_hook():
    config = _yaml_block("### pre-commit")
    (hook,) = config["repos"][0]["hooks"]
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] in {h["id"] for h in hooks}
