"""``gitward ci`` on bad input: one clear line, a non-zero exit, and nothing pushed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.dev import baseimage
from gitward.dev.ports import free_port
from tests.e2e.cihelpers import CiRun, LocalRegistry, code_repo, commit, gitward_ci, local_registry
from tests.e2e.helpers import run_git

pytestmark = pytest.mark.e2e

PASSWORD = "builder-s3cret"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("locked"), htpasswd=("builder", PASSWORD)) as reg:
        yield reg


@pytest.fixture(scope="module")
def base_image(registry: LocalRegistry) -> str:
    return baseimage.seed(registry.host).reference


@pytest.fixture
def env(registry: LocalRegistry, base_image: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GITWARD_REGISTRY": registry.host,
        "GITWARD_BASE_IMAGE": base_image,
        "GITWARD_CHART_REPO": "",
        "GITWARD_REGISTRY_USERNAME": "",
        "GITWARD_REGISTRY_PASSWORD": "",
        "GITWARD_BUILD_USER": "",
        "GITWARD_BUILD_TOKEN": "",
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }


def refused(run: CiRun, code: int, pattern: str) -> str:
    """The run failed with ``code`` and exactly one error line, matching ``pattern``."""
    import re

    assert run.code == code, run.stderr
    assert len(run.errors) == 1, run.stderr
    line = run.errors[0].removeprefix("error: ")
    assert re.search(pattern, line), line
    return line


def test_no_dockerfile(tmp_path: Path, env: dict[str, str], registry: LocalRegistry) -> None:
    repo = code_repo(tmp_path / "hello", tag=None)
    (repo / "Dockerfile").unlink()
    commit(repo, "no dockerfile")
    before = registry.contents()
    refused(gitward_ci(repo, env=env), 2, r"^Dockerfile: no Dockerfile in the repository")
    assert registry.contents() == before


def test_a_failing_run_step_names_the_step_and_shows_the_log_tail(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag=None)
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "RUN python3", "RUN echo compiling && echo boom-from-build >&2 && false\nRUN python3"
        )
    )
    commit(repo, "broken build")
    before = registry.contents()
    run = gitward_ci(repo, env=env)
    line = refused(run, 2, r"^Dockerfile: the image build failed at STEP \d+/\d+: RUN echo")
    assert "exit status 1" in line
    assert "last " in run.stderr and "boom-from-build" in run.stderr  # the log's tail
    assert registry.contents() == before


def test_a_chart_that_fails_helm_lint(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag=None)
    (repo / "chart" / "templates" / "bad.yaml").write_text("x: {{ .Values.missing.deeper }}\n")
    commit(repo, "bad chart")
    before = registry.contents()
    refused(gitward_ci(repo, env=env), 2, r"^chart: helm lint failed: \[ERROR\]")
    assert registry.contents() == before
    # `gitward ci build` lints beside the build, and fails on the chart the same way.
    refused(gitward_ci(repo, "build", env=env), 2, r"^chart: helm lint failed: \[ERROR\]")


def test_a_chart_whose_image_the_config_cannot_set(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag=None)
    (repo / "chart" / "values.yaml").write_text("image: nginx:1.27\n")
    commit(repo, "image as a string")
    before = registry.contents()
    refused(
        gitward_ci(repo, env=env),
        2,
        r"^chart/values.yaml: image is a str, not a mapping; gitward ci cannot set image\.",
    )
    assert registry.contents() == before


def test_a_registry_that_is_down(tmp_path: Path, env: dict[str, str]) -> None:
    repo = code_repo(tmp_path / "hello")
    down = f"127.0.0.1:{free_port()}"
    refused(
        gitward_ci(repo, env={**env, "GITWARD_REGISTRY": down}),
        3,
        rf"^registry {down}: cannot connect: connection refused",
    )


def test_a_chart_repository_that_is_down(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello")
    url = f"http://127.0.0.1:{free_port()}/api/packages/x/helm"
    before = registry.contents()
    refused(
        gitward_ci(repo, env={**env, "GITWARD_CHART_REPO": url}),
        3,
        rf"^chart repository {url}: cannot connect",
    )
    assert registry.contents() == before


def test_wrong_credentials_name_the_store_that_refused_and_never_the_password(
    tmp_path: Path, env: dict[str, str], locked_registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello")
    wrong = {
        **env,
        "GITWARD_REGISTRY": locked_registry.host,
        "GITWARD_REGISTRY_USERNAME": "builder",
        "GITWARD_REGISTRY_PASSWORD": "not-the-" + PASSWORD,
    }
    run = gitward_ci(repo, env=wrong)
    refused(run, 3, rf"^registry {locked_registry.host}: refused the credentials from GITWARD_")
    assert "not-the-" not in run.stdout + run.stderr
    assert locked_registry.contents() == set()


def test_the_right_credentials_push_to_a_registry_that_wants_them(
    tmp_path: Path, env: dict[str, str], locked_registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello")
    run = gitward_ci(
        repo,
        "-o",
        "json",
        env={
            **env,
            "GITWARD_REGISTRY": locked_registry.host,
            "GITWARD_REGISTRY_USERNAME": "builder",
            "GITWARD_REGISTRY_PASSWORD": PASSWORD,
        },
    )
    assert run.code == 0, run.stderr
    assert run.record["image"].startswith(f"{locked_registry.host}/hello:1.0.0@sha256:")
    assert PASSWORD not in run.stdout + run.stderr


def test_an_existing_version_with_different_content(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag="v5.0.0")
    assert gitward_ci(repo, env=env).code == 0
    (repo / "app.py").write_text((repo / "app.py").read_text() + "\n# other\n")
    commit(repo, "other content, same tag")
    run_git(repo, "tag", "-f", "v5.0.0")
    before = registry.contents()
    refused(
        gitward_ci(repo, env=env),
        2,
        rf"^image {registry.host}/hello:5\.0\.0: the registry already holds an image of commit "
        r"[0-9a-f]{12}; published versions are immutable",
    )
    assert registry.contents() == before


def test_a_dirty_tree(tmp_path: Path, env: dict[str, str], registry: LocalRegistry) -> None:
    repo = code_repo(tmp_path / "hello")
    (repo / "app.py").write_text("changed\n")
    before = registry.contents()
    refused(
        gitward_ci(repo, env=env), 2, r"uncommitted changes; commit them \(or pass --allow-dirty"
    )
    assert registry.contents() == before
