"""gitward ci vs buildah bud and helm package + helm push by hand, in one run.

On a registry of its own (Debian's docker-registry on a free loopback port)
and the example code repository (examples/code/hello), each round makes a
new commit, so each tool builds and publishes a version nobody has yet:

* **image build**: ``gitward ci build`` vs ``buildah bud`` with the same
  storage, driver, isolation and build args (target: at most 1.1x);
* **package + publish**: ``gitward ci publish`` (push the image, lint,
  package, push the chart) vs ``buildah push`` + ``helm package`` + ``helm
  push`` (target: at most 1.2x);
* **unchanged commit**: ``gitward ci`` again on the same commit vs the cold
  ``gitward ci build`` + ``publish`` (target: under 10 %).

Medians over the rounds. Writes bench/results/ci-<UTC time>.{md,json}.

    .venv/bin/python bench/ci_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gitward.artifacts.buildah import Buildah  # noqa: E402
from gitward.dev import baseimage  # noqa: E402
from gitward.tools import find_tool  # noqa: E402
from tests.e2e.cihelpers import GITWARD, code_repo, commit, local_registry  # noqa: E402


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}… failed:\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    helm = str(find_tool("helm"))
    buildah = Buildah.from_environment()
    with tempfile.TemporaryDirectory(prefix="gitward-ci-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        # One registry per side, both seeded with the base image, so neither side
        # finds blobs the other just pushed.
        with local_registry(tmp / "registry") as registry, local_registry(tmp / "hand") as other:
            base = baseimage.seed(registry.host).reference
            baseimage.seed(other.host)
            repo = code_repo(tmp / "hello", tag=None)
            env = {
                **os.environ,
                "GITWARD_REGISTRY": registry.host,
                "GITWARD_BASE_IMAGE": base,
                "GITWARD_CHART_REPO": "",
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
            rows: dict[str, list[float]] = {k: [] for k in ("gb", "hb", "gp", "hp", "noop")}
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
                rows["gp"].append(timed([GITWARD, "ci", "publish"], cwd=repo, env=env))
                out = tmp / f"charts-{n}"
                started = time.perf_counter()
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
                        str(out / f"hello-0.0.{n}.tgz"),
                        f"oci://{other.host}/charts",
                        "--plain-http",
                    ],
                ):
                    timed(argv, cwd=repo, env=hand_env)
                rows["hp"].append(time.perf_counter() - started)
                rows["noop"].append(timed([GITWARD, "ci"], cwd=repo, env=env))
    med = {k: statistics.median(v) for k, v in rows.items()}
    cold = med["gb"] + med["gp"]
    table = [
        ("image build", med["gb"], med["hb"], med["gb"] / med["hb"], "≤ 1.1x buildah bud"),
        ("package + publish", med["gp"], med["hp"], med["gp"] / med["hp"], "≤ 1.2x by hand"),
        ("unchanged commit", med["noop"], cold, med["noop"] / cold, "< 0.10x the cold run"),
    ]
    lines = [
        f"ci_bench: {args.rounds} rounds, {os.cpu_count()} cores, medians",
        "",
        "| step | gitward | baseline | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    targets = {"image build": 1.1, "package + publish": 1.2, "unchanged commit": 0.10}
    for name, ours, theirs, ratio, target in table:
        met = "met" if ratio <= targets[name] else "**missed**"
        lines.append(f"| {name} | {ours:.2f}s | {theirs:.2f}s | {ratio:.2f}x | {target}: {met} |")
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
