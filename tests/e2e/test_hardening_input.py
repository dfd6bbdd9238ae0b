"""Hostile config repositories: refused in one line (exit 2), the cluster untouched.

Two families. Symlinks that lead out of the checkout (to a directory, a file,
a values file, a chart, host files such as ``/etc/hostname`` and
``/proc/self/environ``) must never be read into objects. Inputs that are too
big or ambiguous to parse safely (alias bombs, huge files and objects, deep
nesting, duplicate keys) must fail fast and name the file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import pytest

from gitward.record import apprecords
from gitward.record.history import SyncOutcome, SyncRecord
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward, one_app

SECRET_TOKEN = "tok-" + uuid.uuid4().hex
SECRET_HOOK = "hook-" + uuid.uuid4().hex


def configmap(name: str, value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  v: {value!r}\n"


def files_chart(repo: ConfigRepo, app: str, *, file: str) -> None:
    """A chart whose only template puts the content of ``file`` into a ConfigMap."""
    repo.write(f"{app}/Chart.yaml", "apiVersion: v2\nname: leak\nversion: 0.1.0\n")
    repo.write(
        f"{app}/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\n"
        f"data:\n  content: {{{{ .Files.Get {file!r} | quote }}}}\n".replace("'", '"'),
    )


class World:
    """One app in a fresh config repository, and a directory outside it."""

    def __init__(self, cluster: Cluster, tmp_path: Path, namespace: str, app: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.app = app
        self.repo = ConfigRepo(tmp_path / "config")
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        self.marker = "OUTSIDE-" + uuid.uuid4().hex
        self.configure()

    def configure(self, **extra: object) -> None:
        one_app(self.repo, self.app, self.namespace, **extra)

    def link(self, rel: str, target: str | Path) -> None:
        path = self.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    def state(self) -> dict[str, str]:
        """Every ConfigMap of the namespace by resourceVersion, and the app's inventory.

        The history is left out: a refused sync is recorded there, as a failure.
        """
        out = {
            o["metadata"]["name"]: o["metadata"]["resourceVersion"]
            for o in self.cluster.list("v1", "ConfigMap", self.namespace)
            # The controller-manager publishes it into each new namespace, on its own
            # schedule: it may land while a test that starts right away runs.
            if o["metadata"]["name"] != "kube-root-ca.crt"
        }
        inv = self.cluster.call(lambda kube: apprecords.load(kube, self.app)).inventory
        out["inventory"] = "" if inv is None else json.dumps(inv.to_doc(), sort_keys=True)
        return out

    def newest_record(self) -> SyncRecord | None:
        records = self.cluster.call(lambda kube: apprecords.load(kube, self.app)).history
        return records[0] if records else None

    def sync_is_refused(self, expected: str, *, leaked: tuple[str, ...] = ()) -> str:
        """Commit, sync and render; both fail in one line naming ``expected``; nothing changes."""
        self.repo.commit("hostile")
        before = self.state()
        env = {"GITWARD_GIT_TOKEN": SECRET_TOKEN, "GITWARD_WEBHOOK_SECRET": SECRET_HOOK}
        synced = gitward("sync", self.app, "--repo", self.repo.url, "--revision", "main", env=env)
        rendered = gitward("render", self.app, "--repo", str(self.repo.path), env=env)
        for result in (synced, rendered):
            assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith("error: ")
            assert expected in lines[0], lines[0]
            assert result.stdout == ""
            for secret in (self.marker, SECRET_TOKEN, SECRET_HOOK, *leaked):
                assert secret not in result.stdout + result.stderr
        assert self.state() == before
        assert "leaked" not in before
        record = self.newest_record()
        if record is not None:  # an app that renders nothing new is recorded as failed
            assert record.result is SyncOutcome.FAILED and record.exit_code == 2
            for secret in (self.marker, SECRET_TOKEN, SECRET_HOOK, *leaked):
                assert secret not in record.message
        return str(synced.stderr.strip())


@pytest.fixture
def world(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> World:
    return World(cluster, tmp_path, namespace, app_name)


# -- symlinks out of the checkout


def test_app_path_that_is_a_symlink_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.link("app", world.outside)

    line = world.sync_is_refused("app: leads outside the repository")

    assert str(world.outside) in line


def test_manifest_that_is_a_symlink_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.link("app/cm.yaml", world.outside / "cm.yaml")

    line = world.sync_is_refused("app/cm.yaml: leads outside the repository")

    assert str(world.outside / "cm.yaml") in line


def test_symlink_within_a_symlink_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.link("app/hop.txt", world.outside / "cm.yaml")
    world.link("app/cm.yaml", "hop.txt")

    world.sync_is_refused("leads outside the repository")


def test_directory_symlink_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.link("app/more", world.outside)

    world.sync_is_refused("app/more: leads outside the repository")


def test_values_file_that_is_a_symlink_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "values.yaml").write_text(f"marker: {world.marker}\n")
    world.repo.write("app/Chart.yaml", "apiVersion: v2\nname: leak\nversion: 0.1.0\n")
    world.repo.write(
        "app/templates/cm.yaml",
        configmap("leaked", "{{ .Values.marker }}"),
    )
    world.link("prod-values.yaml", world.outside / "values.yaml")
    world.configure(valuesFiles=["../prod-values.yaml"])

    world.sync_is_refused("prod-values.yaml (values file): leads outside the repository")


def test_chart_file_linked_to_etc_hostname_is_not_read_by_files_get(world: World) -> None:
    files_chart(world.repo, "app", file="files/host")
    world.link("app/files/host", "/etc/hostname")

    world.sync_is_refused("app/files/host: leads outside the repository, to /etc/hostname")


def test_chart_file_linked_to_proc_self_environ_is_not_read_by_files_get(world: World) -> None:
    files_chart(world.repo, "app", file="files/env")
    world.link("app/files/env", "/proc/self/environ")

    world.sync_is_refused(
        "app/files/env: leads outside the repository", leaked=("KUBECONFIG=", "GITWARD_")
    )


def test_file_chart_dependency_linked_out_of_the_checkout_is_refused(world: World) -> None:
    chart = world.outside / "sub"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.repo.write(
        "app/Chart.yaml",
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n"
        "  - {name: sub, version: 0.1.0, repository: 'file://../charts/sub'}\n",
    )
    world.link("charts/sub", chart)

    world.sync_is_refused("chart sub: file://../charts/sub: leads outside the repository")


def test_kustomize_resource_linked_out_of_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    world.repo.write("app/kustomization.yaml", "resources:\n  - cm.yaml\n")
    world.link("app/cm.yaml", world.outside / "cm.yaml")

    world.sync_is_refused("app/cm.yaml: leads outside the repository")


def test_kustomize_base_outside_the_checkout_is_refused(world: World) -> None:
    (world.outside / "cm.yaml").write_text(configmap("leaked", world.marker))
    (world.outside / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    # From the app dir of the repository on disk, this is the outside directory.
    world.repo.write("app/kustomization.yaml", "resources:\n  - ../../outside\n")

    world.sync_is_refused("app/kustomization.yaml: ../../outside: leads outside the repository")


def test_symlinks_that_stay_inside_the_checkout_keep_working(world: World) -> None:
    world.repo.write("shared/one.yaml", configmap("one", "1"))
    world.repo.write("shared/more/two.yaml", configmap("two", "2"))
    world.link("app/one.yaml", "../shared/one.yaml")
    world.link("app/more", "../shared/more")
    world.repo.commit("links inside the repository")

    result = gitward("sync", world.app, "--repo", world.repo.url, "--revision", "main")

    assert result.returncode == 0, result.stderr
    names = {o["metadata"]["name"] for o in world.cluster.list("v1", "ConfigMap", world.namespace)}
    assert {"one", "two"} <= names


# -- parsing bounds


def alias_bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text


def bomb_in_manifest(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write("app/bomb.yaml", alias_bomb())
    return "app/bomb.yaml:1: aliases expand the document past"


def bomb_in_gitward_yaml(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    text = (world.repo.path / "gitward.yaml").read_text()
    world.repo.write("gitward.yaml", alias_bomb().replace("a: &a", "x-a: &a") + text)
    return "gitward.yaml:1: aliases expand the document past"


def oversized_manifest(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write("app/huge.yaml", configmap("huge", "x" * (11 * 1024 * 1024)))
    size = (world.repo.path / "app" / "huge.yaml").stat().st_size
    return f"app/huge.yaml: {size} bytes is over the 10 MiB limit"


def oversized_object(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write("app/big.yaml", configmap("big", "x" * (3 * 1024 * 1024 + 4096)))
    return "app/big.yaml:1: ConfigMap/big is 3.0 MiB as JSON; the API server accepts at most 3 MiB"


def duplicate_key_in_manifest(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write("app/dup.yaml", configmap("dup", "1") + "  v: '2'\n")
    return "app/dup.yaml:7: duplicate key 'v' (first on line 6)"


def duplicate_key_in_gitward_yaml(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write(
        "gitward.yaml",
        f"apps:\n  - name: {world.app}\n    path: app\n    namespace: {world.namespace}\n"
        "    path: elsewhere\n",
    )
    return "gitward.yaml:5: duplicate key 'path' (first on line 3)"


def deep_nesting(world: World) -> str:
    world.repo.write("app/keep.yaml", configmap("keep", "1"))
    world.repo.write(
        "app/deep.yaml", configmap("deep", "1") + "  x: " + "[" * 100_000 + "]" * 100_000 + "\n"
    )
    return "app/deep.yaml:7: collections nested more than 512 deep"


BAD_INPUT: dict[str, Callable[[World], str]] = {
    f.__name__: f
    for f in (
        bomb_in_manifest,
        bomb_in_gitward_yaml,
        oversized_manifest,
        oversized_object,
        duplicate_key_in_manifest,
        duplicate_key_in_gitward_yaml,
        deep_nesting,
    )
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_input_beyond_parsing_bounds_is_refused_in_one_line_before_any_request(
    case: str, world: World
) -> None:
    expected = BAD_INPUT[case](world)

    world.sync_is_refused(expected)


def test_a_token_is_not_sent_to_a_cleartext_remote_repository(world: World) -> None:
    url = "http://gitward-e2e.invalid/config.git"
    before = world.state()

    result = gitward(
        "sync",
        world.app,
        "--repo",
        url,
        "--revision",
        "main",
        env={"GITWARD_GIT_TOKEN": SECRET_TOKEN},
    )

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {url}: refusing to send git credentials over cleartext http://; use https:// "
        "or ssh://, or allow it with --insecure-skip-tls (GITWARD_ALLOW_INSECURE=1)"
    )
    assert world.state() == before


APP_LEVEL = sorted(c for c in BAD_INPUT if "gitward_yaml" not in c)


def test_the_controller_stays_up_and_reports_each_bad_input_for_its_app_alone(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    """Every app-level bad input at once, each in an app of its own, beside a good app."""
    from tests.e2e.test_controller import eventually, start_controller

    repo = ConfigRepo(tmp_path / "config")
    names = {case: f"{app_name}-{i}" for i, case in enumerate(APP_LEVEL)}
    good = f"{app_name}-good"
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": name, "path": f"apps/{name}", "namespace": namespace, "autoSync": True}
                for name in [*names.values(), good]
            ]
        },
    )
    repo.write(f"apps/{good}/cm.yaml", configmap("good", "1"))
    expected: dict[str, str] = {}
    for case, name in names.items():
        # Each case writes under app/ of a world of its own; move it to the app's path.
        world = World(cluster, tmp_path / case, namespace, name)
        message = BAD_INPUT[case](world)
        for file in (world.repo.path / "app").iterdir():
            repo.write(f"apps/{name}/{file.name}", file.read_text())
        expected[name] = message.replace("app/", f"apps/{name}/", 1)
    repo.commit("one bad input per app")
    running = start_controller(repo, tmp_path, poll=1.0)
    try:
        eventually(lambda: running.app(good)["sync"] == "Synced", timeout=60, what="good app")

        def message_of(name: str) -> str:
            return str(running.app(name)["message"])

        for name, message in expected.items():
            shown = eventually(partial(message_of, name), what=f"{name} error")
            assert message in shown, (name, shown)
            assert running.app(name)["sync"] != "Synced"
        assert running.proc.poll() is None
        assert httpx.get(running.url + "/healthz", timeout=5).status_code == 200
        assert cluster.get("v1", "ConfigMap", "good", namespace) is not None
        assert cluster.get("v1", "ConfigMap", "keep", namespace) is None, "a bad app applied"
    finally:
        running.stop()
        cluster.forget_apps(good, *names.values())
