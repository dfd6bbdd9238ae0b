"""``gitward dev up|down|env``: the local control plane, registry and forge."""

from __future__ import annotations

import shlex

import click

from gitward.cli.exits import EXIT_INPUT, errors_to_exit, fail


@click.group()
def dev() -> None:
    """A local control plane (etcd, apiserver, controller-manager, scheduler, kwok) and forge."""


@dev.command("up")
@click.option("--apiserver-port", type=int, default=None, envvar="GITWARD_DEV_APISERVER_PORT")
@click.option("--registry-port", type=int, default=None, envvar="GITWARD_DEV_REGISTRY_PORT")
@click.option(
    "--forge",
    is_flag=True,
    envvar="GITWARD_DEV_FORGE",
    help="Also start the dev forge (Gitea: git, OCI registry, chart repository).",
)
@errors_to_exit
def dev_up(apiserver_port: int | None, registry_port: int | None, forge: bool) -> None:
    """Start the local cluster and registry; reuse them if they already run."""
    from gitward.dev import cluster

    result = cluster.up(apiserver_port=apiserver_port, registry_port=registry_port, forge=forge)
    c = result.cluster
    click.echo("already running" if result.already_running else "started")
    click.echo(f"kubeconfig: {c.kubeconfig}")
    click.echo(f"apiserver:  {c.apiserver}")
    click.echo(f"registry:   {c.registry}")
    if result.forge is not None:
        click.echo(f"forge:      {result.forge.url}")


@dev.command("down")
@errors_to_exit
def dev_down() -> None:
    """Stop every process ``dev up`` started."""
    from gitward.dev import cluster

    click.echo("stopped" if cluster.down() else "no dev cluster is running")


@dev.command("env")
@errors_to_exit
def dev_env() -> None:
    """Print ``export`` lines for the running dev cluster."""
    from gitward.dev import baseimage, cluster, forge

    c = cluster.current()
    if c is None:
        strays = cluster.strays()
        if strays:
            fail(
                f"no dev cluster is running, but a half-started one left "
                f"{', '.join(map(str, strays))} under {cluster.state_dir()}; "
                "run 'gitward dev down' to stop them",
                EXIT_INPUT,
            )
        fail("no dev cluster is running; run 'gitward dev up'", EXIT_INPUT)
    env = c.env()
    running = forge.current()
    if running is not None:
        env.update(running.env())
    for key, value in env.items():
        click.echo(f"export {key}={shlex.quote(value)}")
    # Where `gitward dev base-image` seeds the base image code repositories build on.
    click.echo(f"export GITWARD_BASE_IMAGE={shlex.quote(baseimage.reference(c.registry))}")


@dev.command("base-image")
@click.option(
    "--registry",
    envvar="GITWARD_REGISTRY",
    default=None,
    help="Registry (host:port) to seed. Default: the dev cluster's. Env: GITWARD_REGISTRY.",
)
@errors_to_exit
def dev_base_image(registry: str | None) -> None:
    """Seed a small Debian base image (mmdebstrap + buildah) into the dev registry."""
    from gitward.dev import baseimage, cluster

    if registry is None:
        c = cluster.current()
        if c is None:
            fail(
                "no dev cluster is running and no --registry given; run 'gitward dev up'",
                EXIT_INPUT,
            )
        registry = c.registry
    seeded = baseimage.seed(registry)
    how = "pushed" if seeded.pushed else "already in the registry"
    click.echo(f"{seeded.reference}@{seeded.digest} ({how})")
    click.echo(f"export GITWARD_BASE_IMAGE={seeded.reference}")
