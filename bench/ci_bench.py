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
import resource
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


class Rows:
    """Per measure, one wall time and one CPU time (of the processes run, with their
    children: the client side's work, not the stores') per round."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def run(
        self, key: str, argv: list[str], *, cwd: Path, env: dict[str, str], stdin: str = ""
    ) -> str:
        """Run ``argv``, add its times to ``key``'s current round; its stdout."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            argv, input=stdin, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:3])}… failed:\n{proc.stderr[-2000:]}")
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        self.add(key, wall, cpu)
        return proc.stdout

    def add(self, key: str, wall: float, cpu: float | None = None) -> None:
        """One sample; ``cpu`` None for a part of a process, whose CPU is not its own."""
        self.wall.setdefault(key, []).append(wall)
        if cpu is not None:
            self.cpu.setdefault(key, []).append(cpu)

    def round_sum(self, key: str, parts: int) -> None:
        """Fold the last ``parts`` samples of ``key`` into one (steps of one round)."""
        for times in (self.wall[key], self.cpu[key]):
            times[-parts:] = [sum(times[-parts:])]

    def pipeline_stage(self, stdout: str) -> None:
        """A whole ``gitward ci`` run's package + publish, as ``stage``: from the build's
        end to the run's (the image push, the package, the two chart stores side by side)."""
        timings = json.loads(stdout)["timings"]
        self.add("stage", timings["total"] - timings["version"] - timings["build"])

    def publish_steps(self, stdout: str) -> None:
        """Each step of a ``gitward ci publish`` build record, as ``step:<name>``."""
        for step in json.loads(stdout)["steps"]:
            self.add(f"step:{step['name']}", step["seconds"])


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
            rows = Rows()
            for n in range(args.rounds):
                (repo / "app.py").write_text((repo / "app.py").read_text() + f"\n# round {n}\n")
                commit(repo, f"round {n}")
                hand = f"{other.host}/hello:r{n}"
                bud = ["bud", "--isolation", buildah.isolation, "--format", "oci"]
                bud += ["--build-arg", f"BASE_IMAGE={base}", "--tag", hand, str(repo)]
                rows.run("hb", buildah.argv(*bud), cwd=repo, env=hand_env)
                rows.run("gb", [GITWARD, "ci", "build"], cwd=repo, env=env)
                publish = [GITWARD, "ci", "publish", "-o", "json"]
                rows.publish_steps(rows.run("gp", publish, cwd=repo, env=env))
                out = tmp / f"charts-{n}"
                tgz = out / f"hello-0.0.{n}.tgz"
                rows.run("lint", [helm, "lint", "chart"], cwd=repo, env=hand_env)
                version = ["--version", f"0.0.{n}", "--app-version", f"0.0.{n}"]
                for argv in (
                    buildah.argv("push", "--quiet", hand, f"docker://{hand}"),
                    [helm, "package", "chart", *version, "--destination", str(out)],
                    [helm, "push", str(tgz), f"oci://{other.host}/charts", "--plain-http"],
                ):
                    rows.run("hp", argv, cwd=repo, env=hand_env)
                rows.round_sum("hp", 3)
                if hand_repo:
                    user = creds["GITWARD_CHART_REPO_USERNAME"]
                    password = creds["GITWARD_CHART_REPO_PASSWORD"]
                    upload = ["curl", "-sSf", "-o", "/dev/null", "--data-binary", f"@{tgz}"]
                    upload += ["-H", "Content-Type: application/gzip", "-K", "-"]
                    upload += [f"{hand_repo}/api/charts"]
                    # The credentials on stdin, kept off the command line.
                    stdin = f'user = "{user}:{password}"\n'
                    rows.run("upload", upload, cwd=repo, env=env, stdin=stdin)
                rows.run("noop", [GITWARD, "ci"], cwd=repo, env=env)
                # The whole pipeline, cold, on a commit of its own.
                (repo / "app.py").write_text((repo / "app.py").read_text() + f"# whole {n}\n")
                commit(repo, f"whole {n}")
                rows.pipeline_stage(
                    rows.run("full", [GITWARD, "ci", "-o", "json"], cwd=repo, env=env)
                )
    report(args.rounds, rows)


def report(rounds: int, rows: Rows) -> None:
    def median(times: dict[str, list[float]], *keys: str) -> float:
        return sum(statistics.median(times[k]) for k in keys if times.get(k))

    chart_repository = bool(rows.wall.get("upload"))
    extra = "helm lint + ChartMuseum upload" if chart_repository else "helm lint"
    strict, same = ("hp",), ("hp", "lint", "upload")
    table = [
        ("image build", ("gb",), ("hb",), "buildah bud", 1.1),
        ("package + publish", ("gp",), strict, "push + package + helm push", 1.2),
        ("package + publish", ("gp",), same, f"the same + {extra}", 1.2),
        (
            "package + publish in one `gitward ci`",
            ("stage",),
            strict,
            "push + package + helm push",
            1.2,
        ),
        ("unchanged commit", ("noop",), ("gb", "gp"), "cold gitward ci build + publish", 0.10),
        ("whole pipeline", ("full",), ("hb", *same), f"bud + push, … + {extra}", 0),
    ]
    stores = "OCI registry and ChartMuseum-API repository" if chart_repository else "OCI only"
    load = os.getloadavg()[0]
    lines = [
        f"ci_bench: {rounds} rounds, {os.cpu_count()} cores (load average {load:.1f} at the "
        f"end), medians; charts to: {stores}",
        "",
        "| step | gitward | baseline | by hand | ratio | target | CPU gitward / baseline |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ours, theirs, what, target in table:
        wall, base = median(rows.wall, *ours), median(rows.wall, *theirs)
        cpu, base_cpu = median(rows.cpu, *ours), median(rows.cpu, *theirs)
        ratio = wall / base
        verdict = ""
        if target:
            met = "met" if ratio <= target else "**missed**"
            verdict = f"{'<' if target < 1 else '≤'} {target:.2f}x: {met}"
        lines.append(
            f"| {name} | {wall:.2f}s | {base:.2f}s | {what} | {ratio:.2f}x | {verdict} "
            f"| {f'{cpu:.2f}s / {base_cpu:.2f}s' if all(k in rows.cpu for k in ours) else '—'} |"
        )
    steps = [k for k in rows.wall if k.startswith("step:")]
    if steps:
        inside = ", ".join(
            f"{k.removeprefix('step:')} {statistics.median(rows.wall[k]):.2f}s" for k in steps
        )
        lines += ["", f"gitward ci publish, its steps (medians): {inside}"]
    text = "\n".join(lines)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"ci-{stamp}.md").write_text(text + "\n")
    doc = {"wall": rows.wall, "cpu": rows.cpu, "cores": os.cpu_count(), "load": load}
    (results / f"ci-{stamp}.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
