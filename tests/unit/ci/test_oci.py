"""The OCI client and chart pushes against an in-memory registry with token auth."""

from __future__ import annotations

import json

import pytest

from gitward.artifacts.credentials import Credentials
from gitward.artifacts.errors import StoreRefused, VersionConflict
from gitward.artifacts.oci import Registry
from gitward.artifacts.ocicharts import CHART_TYPE, push_chart
from gitward.artifacts.references import Repository, parse_location
from gitward.ci.packaging import ImageRef
from gitward.ci.publishing import published_image
from gitward.ci.versioning import CodeVersion
from gitward.errors import ConfigError, ExitCode
from tests.unit.ci.fakestores import FakeRegistry, make_chart

BASE = Repository("registry.test", "charts")
META = {"apiVersion": "v2", "name": "hello", "version": "1.0.0"}


def registry(fake: FakeRegistry, user: str = "builder", password: str = "pw") -> Registry:
    return Registry(
        Repository("registry.test", ""),
        credentials=Credentials(user, password, origin="test"),
        transport=fake.transport(),
    )


def test_a_chart_is_pushed_as_helm_lays_it_out_after_a_token_challenge() -> None:
    fake = FakeRegistry(user="builder", password="pw")
    tgz = make_chart()
    with registry(fake) as reg:
        done = push_chart(reg, base=BASE, metadata=META, tgz=tgz, annotations={"a": "b"})
        manifest = reg.manifest(BASE.child("hello"), "1.0.0")
    assert done.pushed and done.reference == "oci://registry.test/charts/hello:1.0.0"
    assert manifest is not None and manifest.digest == done.digest
    layer = manifest.doc["layers"][0]
    assert layer["mediaType"] == CHART_TYPE
    assert fake.blobs[layer["digest"]] == tgz
    config = json.loads(fake.blobs[manifest.doc["config"]["digest"]])
    assert config["name"] == "hello"


@pytest.mark.parametrize("monolithic", [True, False])
def test_blobs_go_up_in_one_request_where_the_registry_takes_that_else_in_two(
    monolithic: bool,
) -> None:
    fake = FakeRegistry(monolithic=monolithic)
    tgz = make_chart()
    with registry(fake) as reg:
        push_chart(reg, base=BASE, metadata=META, tgz=tgz, annotations={})
        manifest = reg.manifest(BASE.child("hello"), "1.0.0")
    assert manifest is not None
    assert fake.blobs[manifest.doc["layers"][0]["digest"]] == tgz
    assert fake.two_step_uploads == (0 if monolithic else 2)


def test_pushing_the_same_chart_again_writes_nothing() -> None:
    fake = FakeRegistry()
    with registry(fake) as reg:
        push_chart(reg, base=BASE, metadata=META, tgz=make_chart(), annotations={})
        writes = fake.writes
        again = push_chart(reg, base=BASE, metadata=META, tgz=make_chart(), annotations={})
    assert not again.pushed
    assert fake.writes == writes


def test_another_chart_under_a_pushed_version_is_exit_2_naming_it() -> None:
    fake = FakeRegistry()
    with registry(fake) as reg:
        push_chart(reg, base=BASE, metadata=META, tgz=make_chart(), annotations={})
        writes = fake.writes
        with pytest.raises(VersionConflict, match=r"^chart hello 1\.0\.0: ") as err:
            push_chart(
                reg, base=BASE, metadata=META, tgz=make_chart(extra="z: 1\n"), annotations={}
            )
    assert err.value.exit_code == ExitCode.INPUT
    assert fake.writes == writes


def test_a_read_only_identity_cannot_push() -> None:
    fake = FakeRegistry(user="builder", readonly_user="deployer", password="pw")
    with registry(fake, user="deployer") as reg, pytest.raises(StoreRefused) as err:
        push_chart(reg, base=BASE, metadata=META, tgz=make_chart(), annotations={})
    assert str(err.value).startswith("registry registry.test: refused")
    assert "pw" not in str(err.value).replace("deployer", "")


def test_wrong_credentials_are_refused_at_the_token_service() -> None:
    fake = FakeRegistry(user="builder", password="pw")
    with registry(fake, password="nope") as reg, pytest.raises(StoreRefused, match="registry"):
        reg.manifest(BASE.child("hello"), "1.0.0")


def code(commit: str = "a" * 40, version: str = "1.0.0") -> CodeVersion:
    return CodeVersion(commit=commit, version=version, commit_time="t", source="s")


def put_image(fake: FakeRegistry, annotations: dict[str, str]) -> None:
    body = json.dumps({"schemaVersion": 2, "annotations": annotations}).encode()
    fake.manifests[("shop/hello", "1.0.0")] = (body, "application/vnd.oci.image.manifest.v1+json")


def test_an_image_of_the_same_commit_and_version_is_found_with_its_digest() -> None:
    fake = FakeRegistry()
    put_image(
        fake,
        {
            "org.opencontainers.image.revision": "a" * 40,
            "org.opencontainers.image.version": "1.0.0",
        },
    )
    with registry(fake) as reg:
        found = published_image(reg, image=Repository("registry.test", "shop/hello"), code=code())
    assert isinstance(found, ImageRef)
    assert str(found).startswith("registry.test/shop/hello:1.0.0@sha256:")


def test_an_image_of_another_commit_under_the_version_is_exit_2_naming_both() -> None:
    fake = FakeRegistry()
    put_image(
        fake,
        {
            "org.opencontainers.image.revision": "b" * 40,
            "org.opencontainers.image.version": "1.0.0",
        },
    )
    with registry(fake) as reg, pytest.raises(VersionConflict) as err:
        published_image(reg, image=Repository("registry.test", "shop/hello"), code=code())
    assert "image registry.test/shop/hello:1.0.0" in str(err.value)
    assert "bbbbbbbbbbbb" in str(err.value)
    assert err.value.exit_code == ExitCode.INPUT


def test_no_image_under_the_version_is_none() -> None:
    with registry(FakeRegistry()) as reg:
        assert published_image(reg, image=Repository("registry.test", "x"), code=code()) is None


def test_locations_name_a_host_and_a_valid_path() -> None:
    assert parse_location("oci://127.0.0.1:5000/org/charts", subject="s") == Repository(
        "127.0.0.1:5000", "org/charts"
    )
    assert Repository("127.0.0.1:5000", "x").base_url == "http://127.0.0.1:5000"
    assert Repository("registry.example.com", "x").base_url == "https://registry.example.com"
    with pytest.raises(ConfigError, match="registry host"):
        parse_location("charts", subject="s")
    with pytest.raises(ConfigError, match="repository path"):
        parse_location("host.example/Upper", subject="s")


def test_a_registry_offering_bearer_and_basic_gets_the_token_flow() -> None:
    import httpx

    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/token":
            seen.append("token")
            return httpx.Response(200, json={"token": "t0k"})
        if request.headers.get("Authorization") == "Bearer t0k":
            return httpx.Response(404)
        return httpx.Response(
            401,
            headers=[
                ("WWW-Authenticate", 'Bearer realm="http://registry.test/v2/token",scope="*"'),
                ("WWW-Authenticate", 'Basic realm="Gitea Container Registry"'),
            ],
        )

    with Registry(
        Repository("registry.test", ""),
        credentials=Credentials("u", "p"),
        transport=httpx.MockTransport(handle),
    ) as reg:
        assert reg.manifest(Repository("registry.test", "x"), "1") is None
    assert seen == ["token"]
