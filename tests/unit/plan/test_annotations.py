"""Reading gitward, Helm and Argo CD annotations into one set of directives."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gitward.objects import Manifest
from gitward.plan.annotations import (
    DeletePolicy,
    InvalidAnnotation,
    Moment,
    Phase,
    pruned_how,
    read,
)
from gitward.plan.order import sort_key


def job(annotations: dict[str, str], *, generate: bool = False) -> Manifest:
    meta: dict[str, Any] = {"annotations": annotations}
    meta["generateName" if generate else "name"] = "migrate-" if generate else "migrate"
    return Manifest(
        body={"apiVersion": "batch/v1", "kind": "Job", "metadata": meta}, source="job.yaml"
    )


def test_argo_sync_wave_orders_like_gitwards_own() -> None:
    early = job({"argocd.argoproj.io/sync-wave": "-2"})
    late = job({"gitward.io/sync-wave": "1"})
    assert read(early).wave == -2
    assert sorted([late, early], key=sort_key) == [early, late]


def test_two_waves_that_disagree_fail_naming_both_annotations() -> None:
    m = job({"gitward.io/sync-wave": "1", "argocd.argoproj.io/sync-wave": "2"})
    with pytest.raises(InvalidAnnotation) as e:
        read(m)
    assert "gitward.io/sync-wave: '1'" in e.value.detail
    assert "argocd.argoproj.io/sync-wave: '2'" in e.value.detail
    assert str(e.value).startswith("Job/migrate (job.yaml): ")


def test_waves_that_agree_are_one_wave() -> None:
    m = job({"gitward.io/sync-wave": "3", "argocd.argoproj.io/sync-wave": " 3"})
    assert read(m).wave == 3


def test_helm_hook_weight_is_the_wave_of_a_helm_hook_only() -> None:
    hook = job({"helm.sh/hook": "pre-upgrade", "helm.sh/hook-weight": "-5"})
    plain = job({"helm.sh/hook-weight": "-5"})
    assert read(hook).wave == -5
    assert read(plain).wave == 0


def test_argo_presync_runs_before_both_install_and_upgrade() -> None:
    d = read(job({"argocd.argoproj.io/hook": "PreSync"}))
    assert d.hook is not None
    assert d.hook.moments == {Moment.PRE_INSTALL, Moment.PRE_UPGRADE}
    assert d.phase is Phase.PRE_SYNC


def test_argo_sync_hook_is_in_the_sync_phase_and_syncfail_after() -> None:
    sync = read(job({"argocd.argoproj.io/hook": "Sync"}))
    fail = read(job({"argocd.argoproj.io/hook": "SyncFail"}))
    assert sync.phase is Phase.SYNC and sync.hook and sync.hook.moments == {Moment.SYNC}
    assert fail.phase is Phase.POST_SYNC and fail.hook
    assert fail.hook.moments == {Moment.SYNC_FAIL}


def test_helm_and_argo_hooks_of_different_phases_fail_naming_both() -> None:
    m = job({"helm.sh/hook": "pre-install", "argocd.argoproj.io/hook": "PostSync"})
    with pytest.raises(InvalidAnnotation) as e:
        read(m)
    assert "helm.sh/hook: 'pre-install'" in e.value.detail
    assert "argocd.argoproj.io/hook: 'PostSync'" in e.value.detail


def test_an_argo_hook_decides_when_a_helm_hook_of_the_same_phase_runs() -> None:
    d = read(job({"helm.sh/hook": "pre-install", "argocd.argoproj.io/hook": "PreSync"}))
    assert d.hook is not None and Moment.PRE_UPGRADE in d.hook.moments


def test_delete_hooks_and_test_hooks_never_run() -> None:
    for ann in (
        {"helm.sh/hook": "pre-delete"},
        {"helm.sh/hook": "test"},
        {"argocd.argoproj.io/hook": "PostDelete"},
    ):
        d = read(job(ann))
        assert d.hook is not None and d.hook.moments == frozenset(), ann


def test_argo_skip_is_never_applied_and_is_no_hook() -> None:
    d = read(job({"argocd.argoproj.io/hook": "Skip"}))
    assert d.skip and d.hook is None


def test_unknown_hooks_and_policies_fail_naming_the_annotation() -> None:
    for ann, needle in (
        ({"argocd.argoproj.io/hook": "PreSnyc"}, "argocd.argoproj.io/hook: unknown hook 'PreSnyc'"),
        ({"helm.sh/hook": "pre-instal"}, "helm.sh/hook: unknown hook 'pre-instal'"),
        (
            {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "X"},
            "argocd.argoproj.io/hook-delete-policy: unknown policy 'X'",
        ),
    ):
        with pytest.raises(InvalidAnnotation, match=re.escape(needle)):
            read(job(ann))


def test_delete_policy_defaults_to_before_hook_creation_and_maps_helms_names() -> None:
    default = read(job({"argocd.argoproj.io/hook": "PostSync"})).hook
    helm = read(
        job({"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "hook-succeeded"})
    ).hook
    assert default and default.delete_policies == {DeletePolicy.BEFORE_HOOK_CREATION}
    assert helm and helm.delete_policies == {DeletePolicy.HOOK_SUCCEEDED}


def test_helm_and_argo_delete_policies_that_disagree_fail_naming_both() -> None:
    m = job(
        {
            "argocd.argoproj.io/hook": "PreSync",
            "helm.sh/hook-delete-policy": "hook-failed",
            "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
        }
    )
    with pytest.raises(InvalidAnnotation, match=r"helm\.sh/hook-delete-policy.*argocd"):
        read(m)


def test_sync_options_map_onto_gitward_behaviour() -> None:
    options = read(
        job(
            {
                "argocd.argoproj.io/sync-options": (
                    "Prune=false, Replace=true,PruneLast=true,CreateNamespace=true,"
                    "ServerSideApply=true,Validate=false"
                )
            }
        )
    ).options
    assert not options.prune
    assert options.replace and options.prune_last and options.create_namespace


def test_unsupported_and_unknown_sync_options_fail_naming_the_option() -> None:
    for option in (
        "Prune=confirm",
        "SkipDryRunOnMissingResource=true",
        "PrunePropagationPolicy=orphan",
        "ServerSideApply=false",
        "Force=true",
    ):
        with pytest.raises(InvalidAnnotation, match=re.escape(f"{option} is not supported")):
            read(job({"argocd.argoproj.io/sync-options": option}))
    with pytest.raises(InvalidAnnotation, match="unknown option 'Frobnicate=yes'"):
        read(job({"argocd.argoproj.io/sync-options": "Frobnicate=yes"}))


def test_a_live_object_leaving_git_is_read_leniently_for_prune() -> None:
    ann = {"argocd.argoproj.io/sync-options": "Prune=false,Force=true"}
    assert pruned_how(ann) == (False, False)
    assert pruned_how({"argocd.argoproj.io/sync-options": "PruneLast=true"}) == (True, True)
    assert pruned_how({"gitward.io/prune": "false"}) == (False, False)
