"""The client's check of a new object against the server's schema, on a small schema
shaped like the API server's (references through ``allOf``, associative lists,
int-or-string, quantities); tests/e2e/test_schema_check.py holds it against the
real server's verdicts."""

from __future__ import annotations

from typing import Any

from gitward.objects import Body
from gitward.plan.schemas import SchemaCheck


def ref(name: str) -> dict[str, Any]:
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "default": {}}


SCHEMAS: dict[str, Any] = {
    "test.Widget": {
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": "example.com", "version": "v1", "kind": "Widget"}
        ],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": ref("test.Meta"),
            "spec": ref("test.WidgetSpec"),
        },
    },
    "test.Meta": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {
                "type": "array",
                "items": {"type": "string"},
                "x-kubernetes-list-type": "set",
            },
            "creationTimestamp": ref("test.Time"),
        },
    },
    "test.Time": {"type": "string", "format": "date-time"},
    "test.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "test.IntOrString": {"format": "int-or-string", "oneOf": [{"type": "integer"}]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "oneOf": [{"type": "string"}, {"type": "number"}]
    },
    "test.WidgetSpec": {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer", "format": "int32"},
            "ratio": {"type": "number"},
            "paused": {"type": "boolean"},
            "port": ref("test.IntOrString"),
            "limit": ref("io.k8s.apimachinery.pkg.api.resource.Quantity"),
            "secret": {"type": "string", "format": "byte"},
            "args": {"type": "array", "items": {"type": "string"}},
            "anything": {"type": "object"},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "ports": {
                "type": "array",
                "items": ref("test.Port"),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port", "protocol"],
            },
        },
    },
    "test.Port": {
        "type": "object",
        "properties": {
            "port": {"type": "integer"},
            "protocol": {"type": "string", "default": "TCP"},
            "name": {"type": "string"},
        },
    },
}
CHECK = SchemaCheck(SCHEMAS)


def widget(**spec: Any) -> Body:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"app": "w"}},
        "spec": spec,
    }


def test_a_well_formed_object_passes() -> None:
    body = widget(
        replicas=2,
        ratio=0.5,
        paused=False,
        port="http",
        limit="500m",
        secret="YWJj",
        args=["a", "a"],
        ports=[{"port": 80}, {"port": 80, "protocol": "UDP"}],
    )
    assert CHECK.problems(body) is None


def test_a_string_where_a_number_goes_is_named_by_its_path() -> None:
    assert CHECK.problems(widget(replicas="many")) == (
        ".spec.replicas: expected numeric (int or float), got string"
    )


def test_a_fraction_is_no_integer_but_a_whole_float_is() -> None:
    assert CHECK.problems(widget(replicas=1.5)) == ".spec.replicas: expected an integer, got 1.5"
    assert CHECK.problems(widget(replicas=2.0, port=8.0)) is None


def test_null_means_unset() -> None:
    assert CHECK.problems(widget(replicas=None, ports=None)) is None


def test_a_field_the_kind_does_not_declare_is_refused() -> None:
    assert CHECK.problems(widget(colour="red")) == ".spec.colour: field not declared in schema"


def test_maps_of_anything_and_preserved_fields_take_anything() -> None:
    assert CHECK.problems(widget(anything={"a": [1, {"b": 2}]}, raw={"x": "y"})) is None


def test_a_map_for_a_list_and_a_list_for_a_map_are_refused() -> None:
    assert CHECK.problems(widget(args={"a": 1})) == ".spec.args: expected list, got map"
    body = widget()
    body["spec"] = []
    assert CHECK.problems(body) == ".spec: expected map, got list"


def test_scalars_of_the_wrong_type_are_refused() -> None:
    body = widget(paused="true")
    body["metadata"]["labels"] = {"n": 1}
    assert CHECK.problems(body) == (
        ".metadata.labels.n: expected string, got number 1; "
        ".spec.paused: expected boolean, got string"
    )


def test_two_entries_with_one_key_are_refused_counting_defaults() -> None:
    body = widget(ports=[{"port": 80}, {"port": 80, "protocol": "TCP"}])
    assert CHECK.problems(body) == (
        '.spec.ports: duplicate entries for key [port=80,protocol="TCP"]'
    )


def test_an_entry_is_named_by_its_keys_and_a_null_entry_is_refused() -> None:
    assert CHECK.problems(widget(ports=[{"port": "80"}])) == (
        '.spec.ports[port="80",protocol="TCP"].port: expected numeric (int or float), got string'
    )
    assert CHECK.problems(widget(ports=[None])) == (
        ".spec.ports: element 0: associative list with keys may not have a null element"
    )


def test_a_set_with_a_duplicate_is_refused() -> None:
    body = widget()
    body["metadata"]["finalizers"] = ["a/b", "a/b"]
    assert CHECK.problems(body) == '.metadata.finalizers: duplicate entries for key [="a/b"]'


def test_int_or_string_takes_either_and_nothing_else() -> None:
    assert CHECK.problems(widget(port=8080)) is None
    assert CHECK.problems(widget(port=[1])) == (
        ".spec.port: expected an integer or a string, got list"
    )
    assert CHECK.problems(widget(port=True)) == (
        ".spec.port: expected an integer or a string, got boolean"
    )


def test_quantities_base64_and_times_are_checked_as_the_server_decodes_them() -> None:
    assert CHECK.problems(widget(limit=2)) is None
    assert CHECK.problems(widget(limit="lots")) == (
        '.spec.limit: "lots" is no quantity (such as 500m, 2Gi, 1.5)'
    )
    assert CHECK.problems(widget(secret="YWI")) == ".spec.secret: illegal base64 data"
    body = widget()
    body["metadata"]["creationTimestamp"] = "yesterday"
    assert CHECK.problems(body) == '.metadata.creationTimestamp: "yesterday" is no RFC 3339 time'


def test_only_the_first_three_problems_are_spelled_out() -> None:
    problems = CHECK.problems(widget(a=1, b=2, c=3, d=4, e=5))
    assert problems is not None and problems.endswith("(and 2 more)")


def test_a_kind_without_a_schema_is_not_checked() -> None:
    other = {"apiVersion": "example.com/v1", "kind": "Gadget", "spec": {"x": "y"}}
    assert not CHECK.knows("example.com/v1", "Gadget")
    assert CHECK.knows("example.com/v1", "Widget")
    assert CHECK.problems(other) is None
