"""SOPS decryption during render, with the pinned sops and age."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.config.apps import AppSpec
from gitward.errors import RenderError
from gitward.render import render_app
from gitward.render.cache import RenderCache
from gitward.render.decrypting import (
    DecryptionKeys,
    Decryptor,
    is_encrypted,
    plaintext_scratch,
)
from tests.sopsfiles import AgeKey, encrypt

SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
    "stringData:\n  password: hunter2-plaintext\n"
)


@pytest.fixture
def key(tmp_path: Path) -> AgeKey:
    return AgeKey(tmp_path / "keys" / "age.txt")


def keys_of(key: AgeKey) -> DecryptionKeys:
    return DecryptionKeys(age=key.path.read_text(), origin="test")


def app_with(root: Path, files: dict[str, str]) -> AppSpec:
    for name, text in files.items():
        (root / "app" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "app" / name).write_text(text)
    return AppSpec(name="app", path="app", namespace="ns")


def test_encrypted_yaml_json_and_dotenv_are_recognised(key: AgeKey) -> None:
    assert is_encrypted(encrypt(SECRET, key=key))
    assert is_encrypted(encrypt('{"password": "x"}', key=key, suffix=".json"))
    assert is_encrypted(encrypt("PASSWORD=x\n", key=key, suffix=".env"))


def test_plain_files_with_a_sops_key_somewhere_are_not_encrypted() -> None:
    assert not is_encrypted(SECRET)
    assert not is_encrypted("data:\n  sops:\n    mac: 1\n")
    assert not is_encrypted("sops: just a word\n")


def test_an_encrypted_manifest_renders_to_its_plaintext_and_is_not_cached(
    tmp_path: Path, key: AgeKey
) -> None:
    root = tmp_path / "repo"
    app = app_with(root, {"db.yaml": encrypt(SECRET, key=key, only="^stringData$")})
    cache = RenderCache(tmp_path / "render-cache")

    rendered = render_app(app=app, root=root, cache=cache, decryptor=Decryptor(keys_of(key)))

    (secret,) = rendered.manifests
    assert secret.body["stringData"] == {"password": "hunter2-plaintext"}
    assert "sops" not in secret.body
    assert not (tmp_path / "render-cache").exists() or not any(
        p.is_file() for p in (tmp_path / "render-cache").rglob("*")
    )


def test_without_a_key_an_encrypted_file_fails_naming_it(tmp_path: Path, key: AgeKey) -> None:
    root = tmp_path / "repo"
    app = app_with(root, {"db.yaml": encrypt(SECRET, key=key)})

    with pytest.raises(RenderError, match=r"^app/db.yaml: encrypted with SOPS, and no decryption"):
        render_app(app=app, root=root)


def test_a_wrong_key_fails_naming_the_file_and_never_the_key(tmp_path: Path, key: AgeKey) -> None:
    root = tmp_path / "repo"
    other = AgeKey(tmp_path / "other" / "age.txt")
    app = app_with(root, {"db.yaml": encrypt(SECRET, key=key)})

    with pytest.raises(RenderError) as failed:
        render_app(app=app, root=root, decryptor=Decryptor(keys_of(other)))

    message = str(failed.value)
    assert message.startswith("app/db.yaml: cannot decrypt with SOPS: none of the given keys")
    assert other.identity not in message and "\n" not in message


def test_a_file_changed_after_encryption_fails_on_its_mac(tmp_path: Path, key: AgeKey) -> None:
    root = tmp_path / "repo"
    tampered = encrypt(SECRET, key=key, only="^stringData$").replace("name: db", "name: db2")
    app = app_with(root, {"db.yaml": tampered})

    with pytest.raises(RenderError, match=r"^app/db.yaml: cannot decrypt with SOPS: MAC mismatch"):
        render_app(app=app, root=root, decryptor=Decryptor(keys_of(key)))


def test_an_encrypted_kustomize_resource_is_decrypted_before_kustomize_transforms_it(
    tmp_path: Path, key: AgeKey
) -> None:
    root = tmp_path / "repo"
    app = app_with(
        root,
        {
            "kustomization.yaml": "resources: [db.yaml]\nnamePrefix: shop-\n",
            "db.yaml": encrypt(SECRET, key=key),
        },
    )

    rendered = render_app(app=app, root=root, decryptor=Decryptor(keys_of(key)))

    (secret,) = rendered.manifests
    assert secret.body["metadata"]["name"] == "shop-db"
    assert secret.body["stringData"] == {"password": "hunter2-plaintext"}


def test_an_encrypted_helm_values_file_reaches_the_template(tmp_path: Path, key: AgeKey) -> None:
    root = tmp_path / "repo"
    app = app_with(
        root,
        {
            "Chart.yaml": "apiVersion: v2\nname: db\nversion: 0.1.0\n",
            "values.yaml": "password: unset\n",
            "templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
            "stringData:\n  password: {{ .Values.password | quote }}\n",
            "secrets.yaml": encrypt("password: hunter2-plaintext\n", key=key),
        },
    )
    app = AppSpec(name="app", path="app", namespace="ns", values_files=("secrets.yaml",))
    cache = RenderCache(tmp_path / "render-cache")

    rendered = render_app(app=app, root=root, cache=cache, decryptor=Decryptor(keys_of(key)))

    (secret,) = rendered.manifests
    assert secret.body["stringData"] == {"password": "hunter2-plaintext"}
    cached = list((tmp_path / "render-cache").rglob("*.json"))
    assert cached == []


def test_the_plaintext_scratch_directory_is_gone_even_after_a_failure() -> None:
    with pytest.raises(RuntimeError), plaintext_scratch() as scratch:
        (scratch / "x").write_text("plain")
        assert oct(scratch.stat().st_mode & 0o777) == "0o700"
        raise RuntimeError("boom")
    assert not scratch.exists()
