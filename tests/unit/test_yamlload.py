"""YAML from a config repository is loaded within bounds, strictly, and fast."""

from __future__ import annotations

import itertools

import pytest

from gitward import yamlload
from gitward.config.loader import parse_repo_config
from gitward.errors import ConfigError, RenderError
from gitward.render.documents import iter_documents, manifests_from


def load(text: str) -> list[object]:
    return [d.data for d in yamlload.documents(text, subject="f.yaml", error=RenderError)]


def billion_laughs() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in itertools.pairwise("abcdefghi"):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    return text


def test_alias_bomb_is_refused_before_construction() -> None:
    with pytest.raises(RenderError) as caught:
        load(billion_laughs())

    assert str(caught.value) == "f.yaml:1: aliases expand the document past 16 MiB"


def test_many_cheap_aliases_are_refused_by_count() -> None:
    text = "x: &x 1\nl: [" + ",".join(["*x"] * (yamlload.MAX_ALIASES + 1)) + "]\n"

    with pytest.raises(RenderError, match=r"^f\.yaml:1: more than 10000 aliases in one document$"):
        load(text)


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(RenderError, match="an alias refers to a collection that contains it"):
        load("a: &a [*a]\n")


def test_aliases_that_nest_too_deep_once_expanded_are_refused() -> None:
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 600))

    with pytest.raises(RenderError, match="aliases nest the document more than 512 deep"):
        load(text)


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\nl: [*b, *b]\nurl: a&b\n"

    assert load(text) == [
        {
            "base": {"x": 1, "y": 2},
            "m": {"x": 3, "y": 2},
            "l": [{"x": 1, "y": 2}, {"x": 1, "y": 2}],
            "url": "a&b",
        }
    ]


def test_deep_flow_nesting_is_refused_instead_of_crashing_the_parser() -> None:
    text = "a: 1\nb: " + "[" * 100_000 + "]" * 100_000 + "\n"

    with pytest.raises(RenderError, match=r"^f\.yaml:2: collections nested more than 512 deep$"):
        load(text)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_deep_block_nesting_is_refused(newline: str) -> None:
    text = "".join(" " * i + "- " + newline for i in range(0, 1200, 2))

    with pytest.raises(RenderError, match="collections nested more than 512 deep"):
        load(text)


def test_nesting_within_the_bound_loads() -> None:
    text = "[" * 300 + "]" * 300 + "\n"

    assert load(text) != []


def test_duplicate_key_names_the_line_of_the_second_one() -> None:
    with pytest.raises(RenderError) as caught:
        load("a: 1\nb: 2\na: 3\n")

    assert str(caught.value) == "f.yaml:3: duplicate key 'a' (first on line 1)"


def test_duplicate_key_beside_a_merge_key_is_refused() -> None:
    with pytest.raises(RenderError, match=r"^f\.yaml:5: duplicate key 'z'"):
        load("base: &b {x: 1}\nm:\n  <<: *b\n  z: 3\n  z: 4\n")


def test_duplicate_key_in_a_later_document_names_its_line() -> None:
    with pytest.raises(RenderError, match=r"^f\.yaml:5: duplicate key 'k'"):
        load("a: 1\n---\nb:\n  k: 1\n  k: 2\n")


def test_timestamps_stay_strings() -> None:
    assert load("when: 2024-01-01\n") == [{"when": "2024-01-01"}]


def test_gitward_yaml_alias_bomb_is_a_config_error_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^gitward\.yaml:1: aliases expand the document past"):
        parse_repo_config(billion_laughs())


def test_gitward_yaml_duplicate_key_is_a_config_error_naming_the_line() -> None:
    text = "apps:\n  - name: a\n    path: a\n    path: b\n"

    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)

    assert str(caught.value) == "gitward.yaml:4: duplicate key 'path' (first on line 3)"


def test_object_over_the_api_server_limit_is_refused_naming_it() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  v: " + (
        "x" * (3 * 1024 * 1024) + "\n"
    )

    with pytest.raises(RenderError) as caught:
        manifests_from(iter_documents(text, subject="big.yaml"), subject="big.yaml", source=".")

    assert str(caught.value) == (
        "big.yaml:1: ConfigMap/big is 3.0 MiB as JSON; the API server accepts at most 3 MiB"
    )


def test_a_list_is_measured_per_item_not_as_a_whole() -> None:
    item = "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}, data: {v: '%s'}}\n"
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        item % (i, "x" * (1024 * 1024)) for i in range(4)
    )

    found = manifests_from(iter_documents(text, subject="l.yaml"), subject="l.yaml", source=".")

    assert len(found) == 4


def test_object_size_counts_utf8_bytes_not_escaped_characters() -> None:
    # 600 Ki three-byte characters: 1.8 MiB of UTF-8, 3.5 MiB if escaped as \uXXXX.
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wide\ndata:\n  v: " + (
        "\u732b" * (600 * 1024) + "\n"
    )

    found = manifests_from(iter_documents(text, subject="w.yaml"), subject="w.yaml", source=".")

    assert [str(m.ref) for m in found] == ["ConfigMap/wide"]
