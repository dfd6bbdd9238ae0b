"""gitward ci vs buildah bud and helm package + helm push by hand, in one run.

On a registry of its own per side (Debian's docker-registry on a free
loopback port) and, when the forge is built, a Gitea of its own as the
ChartMuseum-API chart repository, with the example code repository
(examples/code/hello); each round makes a new commit, so each side builds
and publishes a version nobody has yet:

* **image build**: ``gitward ci build`` vs ``buildah bud`` with the same
  storage, driver, isolation and build args (target: at most 1.1x);
* **package + publish**: ``gitward ci publish`` (push the image, lint,
  package, push the chart to the OCI registry and upload it to the chart
  repository) vs, strictly as the issue names it, ``buildah push`` + ``helm
  package`` + ``helm push`` (target: at most 1.2x), and vs the same work by
  hand: that plus ``helm lint`` and the ChartMuseum upload (``curl
  --data-binary`` to ``/api/charts``);
* **unchanged commit**: ``gitward ci`` again on the same commit vs the cold
  ``gitward ci build`` + ``publish`` (target: under 10 %);
* **whole pipeline**: a cold ``gitward ci`` on a new commit vs ``buildah bud``
  plus the equivalent work by hand.

Medians over the rounds. Writes bench/results/ci-<UTC time>.{md,json}.

    .venv/bin/python bench/ci_bench.py [--rounds 5] [--no-forge]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gitward.artifacts.buildah import Buildah  # noqa: E402
from gitward.dev import baseimage  # noqa: E402
from gitward.errors import ToolError  # noqa: E402
from gitward.tools import find_tool  # noqa: E402
from tests.e2e.cihelpers import GITWARD, code_repo, commit, local_registry  # noqa: E402


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    return run_timed(argv, cwd=cwd, env=env)[0]


def run_timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall time and stdout of ``argv``; a failure ends the bench with its stderr."""
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}… failed:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def publish_steps(stdout: str, rows: dict[str, list[float]]) -> None:
    """Each step of a ``gitward ci publish`` build record, as ``step:<name>`` rows."""
    for step in json.loads(stdout)["steps"]:
        rows.setdefault(f"step:{step['name']}", []).append(step["seconds"])


@contextmanager
def chart_repositories(tmp: Path, use_forge: bool) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Two ChartMuseum-API repositories on a Gitea of the bench's own (gitward's, the
    hand's) and the build identity's credentials; ``("", "", {})`` without the forge."""
    try:
        built = use_forge and find_tool("gitea").exists()
    except ToolError:
        built = False
    if not built:
        yield "", "", {}
        return
    from gitward.dev import forge as devforge
    from gitward.dev.ports import free_port

    # A state directory of its own: the bench never touches a dev forge that runs.
    os.environ["GITWARD_STATE"] = str(tmp / "state")
    forge = devforge.start(free_port())
    try:
        who = forge.builder
        creds = {
            "GITWARD_CHART_REPO_USERNAME": who.user,
            "GITWARD_CHART_REPO_PASSWORD": who.token,
        }
        # gitward's charts under the org, the hand's under the build identity's own name.
        yield forge.chart_repo, f"{forge.url}/api/packages/{who.user}/helm", creds
    finally:
        devforge.stop_processes(forge.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--no-forge", action="store_true", help="Publish charts to the OCI registry only."
    )
    args = parser.parse_args()
    # An installed gitward is byte-compiled; a source tree edited since the last
    # compile would time the compiler (PYTHONDONTWRITEBYTECODE keeps it from caching).
    compileall.compile_dir(str(HERE.parent / "gitward"), quiet=1)
    helm = str(find_tool("helm"))
    buildah = Buildah.from_environment()
    with tempfile.TemporaryDirectory(prefix="gitward-ci-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        # One registry per side, both seeded with the base image, so neither side
        # finds blobs the other just pushed.
        with (
            local_registry(tmp / "registry") as registry,
            local_registry(tmp / "hand") as other,
            chart_repositories(tmp, not args.no_forge) as (ours_repo, hand_repo, creds),
        ):
            base = baseimage.seed(registry.host).reference
            baseimage.seed(other.host)
            repo = code_repo(tmp / "hello", tag=None)
            env = {
                **os.environ,
                **creds,
                "GITWARD_REGISTRY": registry.host,
                "GITWARD_BASE_IMAGE": base,
                "GITWARD_CHART_REPO": ours_repo,
            }
            # buildah by hand: the same storage and registries.conf gitward gives it.
            conf = tmp / "registries.conf"
            conf.write_text(
                "".join(
                    f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'
                    for host in (registry.host, other.host)
                )
            )
            hand_env = {**env, "CONTAINERS_REGISTRIES_CONF": str(conf)}
            keys = ("gb", "hb", "gp", "hp", "lint", "upload", "noop", "full")
            rows: dict[str, list[float]] = {k: [] for k in keys}
            for n in range(args.rounds):
                (repo / "app.py").write_text((repo / "app.py").read_text() + f"\n# round {n}\n")
                commit(repo, f"round {n}")
                hand = f"{other.host}/hello:r{n}"
                rows["hb"].append(
                    timed(
                        buildah.argv(
                            "bud",
                            "--isolation",
                            buildah.isolation,
                            "--format",
                            "oci",
                            "--build-arg",
                            f"BASE_IMAGE={base}",
                            "--tag",
                            hand,
                            str(repo),
                        ),
                        cwd=repo,
                        env=hand_env,
                    )
                )
                rows["gb"].append(timed([GITWARD, "ci", "build"], cwd=repo, env=env))
                publish = [GITWARD, "ci", "publish", "-o", "json"]
                took, record = run_timed(publish, cwd=repo, env=env)
                rows["gp"].append(took)
                publish_steps(record, rows)
                out = tmp / f"charts-{n}"
                tgz = out / f"hello-0.0.{n}.tgz"
                rows["lint"].append(timed([helm, "lint", "chart"], cwd=repo, env=hand_env))
                rows["hp"].append(
                    sum(
                        timed(argv, cwd=repo, env=hand_env)
                        for argv in (
                            buildah.argv("push", "--quiet", hand, f"docker://{hand}"),
                            [
                                helm,
                                "package",
                                "chart",
                                "--version",
                                f"0.0.{n}",
                                "--app-version",
                                f"0.0.{n}",
                                "--destination",
                                str(out),
                            ],
                            [
                                helm,
                                "push",
                                str(tgz),
                                f"oci://{other.host}/charts",
                                "--plain-http",
                            ],
                        )
                    )
                )
                if hand_repo:
                    user = creds["GITWARD_CHART_REPO_USERNAME"]
                    password = creds["GITWARD_CHART_REPO_PASSWORD"]
                    upload = ["curl", "-sSf", "-o", "/dev/null", "--data-binary", f"@{tgz}"]
                    upload += ["-H", "Content-Type: application/gzip", "-K", "-"]
                    upload += [f"{hand_repo}/api/charts"]
                    rows["upload"].append(
                        timed_input(upload, f'user = "{user}:{password}"\n', cwd=repo, env=env)
                    )
                rows["noop"].append(timed([GITWARD, "ci"], cwd=repo, env=env))
                # The whole pipeline, cold, on a commit of its own.
                (repo / "app.py").write_text((repo / "app.py").read_text() + f"# whole {n}\n")
                commit(repo, f"whole {n}")
                rows["full"].append(timed([GITWARD, "ci"], cwd=repo, env=env))
    report(args.rounds, rows, chart_repository=bool(rows["upload"]))


def timed_input(argv: list[str], text: str, *, cwd: Path, env: dict[str, str]) -> float:
    """:func:`timed` with ``text`` on stdin (credentials, kept off the command line)."""
    started = time.perf_counter()
    proc = subprocess.run(
        argv, input=text, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def report(rounds: int, rows: dict[str, list[float]], *, chart_repository: bool) -> None:
    med = {k: statistics.median(v) if v else 0.0 for k, v in rows.items()}
    cold = med["gb"] + med["gp"]
    equivalent = med["hp"] + med["lint"] + med["upload"]
    extra = "helm lint + ChartMuseum upload" if chart_repository else "helm lint"
    table = [
        ("image build", med["gb"], med["hb"], "buildah bud", 1.1),
        ("package + publish", med["gp"], med["hp"], "push + package + helm push", 1.2),
        ("package + publish", med["gp"], equivalent, f"the same + {extra}", 1.2),
        ("unchanged commit", med["noop"], cold, "cold gitward ci build + publish", 0.10),
        ("whole pipeline", med["full"], med["hb"] + equivalent, f"bud + push, … + {extra}", 0),
    ]
    stores = "OCI registry and ChartMuseum-API repository" if chart_repository else "OCI only"
    lines = [
        f"ci_bench: {rounds} rounds, {os.cpu_count()} cores, medians; charts to: {stores}",
        "",
        "| step | gitward | baseline | by hand | ratio | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, ours, theirs, what, target in table:
        ratio = ours / theirs
        verdict = ""
        if target:
            met = "met" if ratio <= target else "**missed**"
            verdict = f"{'<' if target < 1 else '≤'} {target:.2f}x: {met}"
        lines.append(
            f"| {name} | {ours:.2f}s | {theirs:.2f}s | {what} | {ratio:.2f}x | {verdict} |"
        )
    steps = [k for k in med if k.startswith("step:")]
    if steps:
        inside = ", ".join(f"{k.removeprefix('step:')} {med[k]:.2f}s" for k in steps)
        lines += ["", f"gitward ci publish, its steps (medians): {inside}"]
    text = "\n".join(lines)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"ci-{stamp}.md").write_text(text + "\n")
    (results / f"ci-{stamp}.json").write_text(
        json.dumps({"rounds": rows, "medians": med, "cores": os.cpu_count()}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
