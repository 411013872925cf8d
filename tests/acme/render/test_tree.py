"""infra/knative/ is exactly what `acme render knative` makes of stack.yml."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from manifests import INFRA, REPO

from acme.cli.main import cli
from acme.render import differences, render_knative, write
from acme.runtime.stackfile import load_stack


def test_the_committed_manifests_are_what_stack_yml_gives() -> None:
    rendered = render_knative(load_stack(REPO / "stack.yml"))
    assert differences(rendered, INFRA) == [], "stale: run `.venv/bin/acme render knative`"


def test_check_names_stale_missing_and_foreign_files_and_writing_mends_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "knative"
    shutil.copytree(INFRA, out)
    (out / "base" / "functions" / "infer-cxr.yaml").write_text("edited by hand\n")
    (out / "router" / "tick.yaml").unlink()
    (out / "base" / "extra.yaml").write_text("kind: ConfigMap\n")
    runner = CliRunner()
    args = ["render", "knative", "--out", str(out)]
    env = {"ACME_STACK_FILE": str(REPO / "stack.yml")}
    checked = runner.invoke(cli, [*args, "--check"], env=env)
    assert checked.exit_code == 1
    assert f"{out}/base/functions/infer-cxr.yaml: stale" in checked.output
    assert f"{out}/router/tick.yaml: missing" in checked.output
    assert f"{out}/base/extra.yaml: not generated" in checked.output
    written = runner.invoke(cli, args, env=env)
    assert written.exit_code == 0, written.output
    assert "3 changed" in written.output
    assert not (out / "base" / "extra.yaml").exists()
    again = runner.invoke(cli, [*args, "--check"], env=env)
    assert again.exit_code == 0 and "up to date" in again.output


def test_a_function_without_its_folder_yet_is_left_out_and_added_when_it_arrives(
    tmp_path: Path,
) -> None:
    stack_file = tmp_path / "stack.yml"
    shutil.copy(REPO / "stack.yml", stack_file)
    (tmp_path / "functions").mkdir()
    for folder in (REPO / "functions").iterdir():
        if folder.name != "infer-ct":
            (tmp_path / "functions" / folder.name).symlink_to(folder)
    before = render_knative(load_stack(stack_file))
    assert "infer-ct" in before.skipped
    assert not any("infer-ct" in str(path) for path in before.files)
    (tmp_path / "functions" / "infer-ct").mkdir()
    (tmp_path / "functions" / "infer-ct" / "main.py").write_text("def handler(request): ...\n")
    after = render_knative(load_stack(stack_file))
    assert "infer-ct" not in after.skipped
    new = {str(p) for p in after.files} - {str(p) for p in before.files}
    assert new == {"base/functions/infer-ct.yaml", "eventing/triggers/infer-ct.yaml"}
    out = tmp_path / "out"
    write(before, out)
    assert {p.split(":")[0] for p in differences(after, out)} >= new
