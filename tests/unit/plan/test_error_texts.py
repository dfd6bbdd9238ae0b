"""Errors people can read: the server's answers summarised, and advice that fits."""

from __future__ import annotations

from gitward.kube.errors import Invalid, from_status
from gitward.plan.apis import unserved_advice
from gitward.plan.objects import immutable_refusal


def invalid(message: str, *causes: tuple[str, str]) -> str:
    err = from_status(
        422,
        "Deployment/shop/web",
        {
            "message": message,
            "reason": "Invalid",
            "details": {"causes": [{"field": f, "message": m} for f, m in causes]},
        },
    )
    assert isinstance(err, Invalid)
    return str(err)


def test_an_invalid_answer_names_field_and_rule_without_go_values() -> None:
    text = invalid(
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"y"}: `selector` does not match template `labels`',
        (
            "spec.template.metadata.labels",
            'Invalid value: map[string]string{"app":"y"}: `selector` does not match template '
            "`labels`",
        ),
    )
    assert text == (
        "Deployment/shop/web: spec.template.metadata.labels: invalid value: "
        "`selector` does not match template `labels`"
    )
    assert "map[" not in text


def test_an_immutable_selector_keeps_the_word_immutable_and_drops_the_struct() -> None:
    text = invalid(
        "…",
        (
            "spec.selector",
            'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        ),
    )
    assert text == "Deployment/shop/web: spec.selector: invalid value: field is immutable"
    assert immutable_refusal(text)


def test_a_short_plain_value_is_kept_and_several_causes_are_all_named() -> None:
    text = invalid(
        "…",
        ("metadata.name", 'Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of'),
        ("spec.replicas", "Required value"),
    )
    assert 'metadata.name: Invalid value: "Web"' in text
    assert "spec.replicas: Required value" in text


def test_a_statefulset_spec_change_counts_as_immutable() -> None:
    assert immutable_refusal(
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy' are forbidden"
    )
    assert not immutable_refusal("spec.replicas: Required value")


def test_a_removed_built_in_version_names_its_replacement() -> None:
    assert unserved_advice("extensions/v1beta1", "Deployment") == (
        "extensions/v1beta1 Deployment was removed in Kubernetes 1.16; use apps/v1"
    )
    assert "use autoscaling/v2" in unserved_advice("autoscaling/v2beta2", "HorizontalPodAutoscaler")
    assert "no replacement" in unserved_advice("policy/v1beta1", "PodSecurityPolicy")


def test_crd_advice_is_only_for_groups_that_are_not_built_in() -> None:
    assert "is its CRD installed?" in unserved_advice("example.com/v1", "Widget")
    built_in = unserved_advice("apps/v1", "Deploymnt")
    assert "CRD" not in built_in and "check the kind" in built_in
