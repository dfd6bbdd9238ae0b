"""What the annotations on one object ask of a sync: its wave, whether it is a
hook (and when it runs), and how it is applied and pruned.

Three vocabularies meet here, because real repositories mix them: gitward's
own (``gitward.io/*``), Helm's hooks (``helm.sh/*``) and Argo CD's
(``argocd.argoproj.io/*``). They are read into one :class:`Directives`, so the
rest of gitward never asks which tool an annotation came from. Where two of
them say different things about the same object (two waves, a Helm hook and
an Argo hook of different phases, two delete policies) the object is refused
rather than one silently winning: which one a user meant cannot be guessed.
An Argo hook on an object that is also a Helm hook of the same phase decides
when it runs, as in Argo CD.

Anything we do not understand is refused too (an unknown hook, delete policy
or sync option): ignoring it would deploy something other than what the
repository says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from gitward.objects import Manifest

GITWARD_WAVE = "gitward.io/sync-wave"
GITWARD_PRUNE = "gitward.io/prune"
GITWARD_RECREATE = "gitward.io/recreate"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
ARGO_WAVE = "argocd.argoproj.io/sync-wave"
ARGO_HOOK = "argocd.argoproj.io/hook"
ARGO_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
ARGO_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


class InvalidAnnotation(ValueError):
    """An annotation gitward cannot honour; ``detail`` says which and why."""

    def __init__(self, subject: str, detail: str) -> None:
        super().__init__(f"{subject}: {detail}")
        self.detail = detail


class Phase(IntEnum):
    PRE_SYNC = 0
    SYNC = 1
    POST_SYNC = 2


class Moment(Enum):
    """When in a sync a hook runs. Install means the app never synced successfully."""

    PRE_INSTALL = "pre-install"
    PRE_UPGRADE = "pre-upgrade"
    SYNC = "sync"  # with the objects of its wave (Argo's Sync)
    POST_INSTALL = "post-install"
    POST_UPGRADE = "post-upgrade"
    SYNC_FAIL = "sync-fail"  # after a sync failed (Argo's SyncFail)

    @property
    def phase(self) -> str:
        return {
            Moment.PRE_INSTALL: "pre",
            Moment.PRE_UPGRADE: "pre",
            Moment.SYNC: "sync",
            Moment.POST_INSTALL: "post",
            Moment.POST_UPGRADE: "post",
            Moment.SYNC_FAIL: "fail",
        }[self]


class DeletePolicy(Enum):
    BEFORE_HOOK_CREATION = "BeforeHookCreation"
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"


_HELM_EVENTS: dict[str, frozenset[Moment]] = {
    "pre-install": frozenset({Moment.PRE_INSTALL}),
    "pre-upgrade": frozenset({Moment.PRE_UPGRADE}),
    "post-install": frozenset({Moment.POST_INSTALL}),
    "post-upgrade": frozenset({Moment.POST_UPGRADE}),
    # gitward never deletes a release, and a rollback is a git revert (an
    # upgrade); tests are run by `helm test`, never by an install.
    "pre-delete": frozenset(),
    "post-delete": frozenset(),
    "pre-rollback": frozenset(),
    "post-rollback": frozenset(),
    "test": frozenset(),
    "test-success": frozenset(),
}
_ARGO_HOOKS: dict[str, frozenset[Moment]] = {
    "PreSync": frozenset({Moment.PRE_INSTALL, Moment.PRE_UPGRADE}),
    "Sync": frozenset({Moment.SYNC}),
    "PostSync": frozenset({Moment.POST_INSTALL, Moment.POST_UPGRADE}),
    "SyncFail": frozenset({Moment.SYNC_FAIL}),
    # Run only when an Argo CD Application is deleted; gitward never deletes an app.
    "PreDelete": frozenset(),
    "PostDelete": frozenset(),
}
_ARGO_SKIP = "Skip"
_HELM_POLICIES = {
    "before-hook-creation": DeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": DeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": DeletePolicy.HOOK_FAILED,
}
_ARGO_POLICIES = {p.value: p for p in DeletePolicy}

# Sync options whose promise gitward keeps without doing anything, and why.
_KEPT_ALREADY = {
    "ServerSideApply=true": "gitward always applies server-side",
    "Validate=true": "the API server validates every object",
    # gitward validates nothing on the client; the API server's checks remain.
    "Validate=false": "gitward does no client-side validation",
    "ApplyOutOfSyncOnly=true": "gitward writes only objects that drifted",
    "FailOnSharedResource=true": "an object another app owns always fails the plan",
    "RespectIgnoreDifferences=true": "ignore rules in gitward.yaml are kept out of apply",
    "Delete=false": "gitward never deletes an app's objects when the app is removed",
    "Delete=confirm": "gitward never deletes an app's objects when the app is removed",
    "PrunePropagationPolicy=background": "gitward prunes with background propagation",
    "Prune=true": "",
    "PruneLast=false": "",
    "Replace=false": "",
    "CreateNamespace=false": "",
}
# Sync options gitward cannot keep, and what to do instead.
_UNSUPPORTED = {
    "Prune=confirm": "gitward has no confirmation step; use Prune=false and delete it by hand",
    "ServerSideApply=false": "gitward always applies server-side",
    "SkipDryRunOnMissingResource=true": (
        "gitward dry-runs every object; put its CustomResourceDefinition in the app "
        "or install it first"
    ),
    "Force=true": "use gitward.io/recreate: 'true' to delete and recreate on an immutable change",
    "ApplyOutOfSyncOnly=false": "gitward writes only objects that drifted",
    "FailOnSharedResource=false": "an object another app owns always fails the plan",
    "RespectIgnoreDifferences=false": "ignore rules in gitward.yaml are always kept out of apply",
}

_KNOWN_KEYS = {o.partition("=")[0] for o in (*_KEPT_ALREADY, *_UNSUPPORTED)} | {
    "ClientSideApplyMigration"
}


@dataclass(frozen=True)
class Hook:
    """An object run at some moments of a sync, never kept in the inventory."""

    moments: frozenset[Moment]
    delete_policies: frozenset[DeletePolicy]

    @property
    def phase(self) -> Phase:
        """Where it sorts; a hook that runs at no moment of a sync sorts last."""
        phases = {m.phase for m in self.moments}
        if "pre" in phases:
            return Phase.PRE_SYNC
        if "sync" in phases:
            return Phase.SYNC
        return Phase.POST_SYNC


@dataclass(frozen=True)
class ObjectOptions:
    prune: bool = True
    prune_last: bool = False
    replace: bool = False  # PUT/POST the whole object instead of server-side apply
    create_namespace: bool = False  # create its namespace if missing
    recreate: bool = False  # delete and recreate on an immutable-field change


@dataclass(frozen=True)
class Directives:
    wave: int = 0
    hook: Hook | None = None
    skip: bool = False  # Argo's hook Skip: never applied
    options: ObjectOptions = ObjectOptions()

    @property
    def phase(self) -> Phase:
        return self.hook.phase if self.hook else Phase.SYNC


def read(m: Manifest) -> Directives:
    """Every directive on ``m``; raises :class:`InvalidAnnotation` naming the annotation."""
    ann = m.annotations
    subject = f"{m.ref.kind}/{_name(m)}"
    if m.source:
        subject += f" ({m.source})"
    helm = _helm_hook(ann, subject)
    argo, skip = _argo_hook(ann, subject)
    if helm is not None and argo is not None:
        h_phases = {x.phase for x in helm.moments}
        a_phases = {x.phase for x in argo.moments}
        if h_phases and a_phases and h_phases != a_phases:
            raise InvalidAnnotation(
                subject,
                f"{HELM_HOOK}: {ann[HELM_HOOK]!r} and {ARGO_HOOK}: {ann[ARGO_HOOK]!r} "
                "run it in different phases; keep one",
            )
    hook = argo if argo is not None else helm
    if hook is not None:
        hook = Hook(moments=hook.moments, delete_policies=_delete_policies(ann, subject))
    return Directives(
        wave=_wave(ann, subject, hooked=helm is not None),
        hook=hook,
        skip=skip,
        options=_options(ann, subject),
    )


def _name(m: Manifest) -> str:
    meta = m.body.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName") or "")


def _split(raw: str) -> list[str]:
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def _helm_hook(ann: dict[str, str], subject: str) -> Hook | None:
    if HELM_HOOK not in ann:
        return None
    moments: set[Moment] = set()
    for event in _split(ann[HELM_HOOK]):
        if event not in _HELM_EVENTS:
            raise InvalidAnnotation(
                subject, f"{HELM_HOOK}: unknown hook {event!r} ({', '.join(_HELM_EVENTS)})"
            )
        moments |= _HELM_EVENTS[event]
    return Hook(frozenset(moments), frozenset())


def _argo_hook(ann: dict[str, str], subject: str) -> tuple[Hook | None, bool]:
    if ARGO_HOOK not in ann:
        return None, False
    names = _split(ann[ARGO_HOOK])
    if _ARGO_SKIP in names:
        if len(names) > 1:
            raise InvalidAnnotation(subject, f"{ARGO_HOOK}: Skip cannot be combined with hooks")
        return None, True
    moments: set[Moment] = set()
    for name in names:
        if name not in _ARGO_HOOKS:
            known = ", ".join([*_ARGO_HOOKS, _ARGO_SKIP])
            raise InvalidAnnotation(subject, f"{ARGO_HOOK}: unknown hook {name!r} ({known})")
        moments |= _ARGO_HOOKS[name]
    return Hook(frozenset(moments), frozenset()), False


def _delete_policies(ann: dict[str, str], subject: str) -> frozenset[DeletePolicy]:
    found: dict[str, frozenset[DeletePolicy]] = {}
    for key, known in ((HELM_DELETE_POLICY, _HELM_POLICIES), (ARGO_DELETE_POLICY, _ARGO_POLICIES)):
        if key not in ann:
            continue
        policies: set[DeletePolicy] = set()
        for value in _split(ann[key]):
            if value not in known:
                raise InvalidAnnotation(
                    subject, f"{key}: unknown policy {value!r} ({', '.join(known)})"
                )
            policies.add(known[value])
        found[key] = frozenset(policies)
    if len(set(found.values())) > 1:
        raise InvalidAnnotation(
            subject,
            f"{HELM_DELETE_POLICY}: {ann[HELM_DELETE_POLICY]!r} and "
            f"{ARGO_DELETE_POLICY}: {ann[ARGO_DELETE_POLICY]!r} disagree; keep one",
        )
    chosen = next(iter(found.values()), frozenset())
    # Both Helm and Argo CD delete the previous run first when nothing is said.
    return chosen or frozenset({DeletePolicy.BEFORE_HOOK_CREATION})


def _wave(ann: dict[str, str], subject: str, *, hooked: bool) -> int:
    # Helm's hook weight orders Helm hooks only, as in Helm and Argo CD.
    keys = [GITWARD_WAVE, ARGO_WAVE, *([HELM_HOOK_WEIGHT] if hooked else [])]
    waves: dict[str, int] = {}
    for key in keys:
        if key not in ann:
            continue
        raw = ann[key]
        try:
            waves[key] = int(str(raw).strip())
        except ValueError as e:
            raise InvalidAnnotation(subject, f"{key} {raw!r} is not an integer") from e
    if len(set(waves.values())) > 1:
        shown = " and ".join(f"{k}: {ann[k]!r}" for k in waves)
        raise InvalidAnnotation(subject, f"{shown} disagree; keep one")
    return next(iter(waves.values()), 0)


def _options(ann: dict[str, str], subject: str) -> ObjectOptions:
    prune = ann.get(GITWARD_PRUNE) != "false"
    recreate = ann.get(GITWARD_RECREATE) == "true"
    prune_last = replace = create_namespace = False
    for option in _split(ann.get(ARGO_SYNC_OPTIONS, "")):
        if option == "Prune=false":
            prune = False
        elif option == "PruneLast=true":
            prune_last = True
        elif option == "Replace=true":
            replace = True
        elif option == "CreateNamespace=true":
            create_namespace = True
        elif option in _KEPT_ALREADY:
            continue
        elif option in _UNSUPPORTED:
            raise InvalidAnnotation(
                subject, f"{ARGO_SYNC_OPTIONS}: {option} is not supported: {_UNSUPPORTED[option]}"
            )
        elif option.partition("=")[0] in _KNOWN_KEYS:
            raise InvalidAnnotation(subject, f"{ARGO_SYNC_OPTIONS}: {option} is not supported")
        else:
            raise InvalidAnnotation(subject, f"{ARGO_SYNC_OPTIONS}: unknown option {option!r}")
    return ObjectOptions(
        prune=prune,
        prune_last=prune_last,
        replace=replace,
        create_namespace=create_namespace,
        recreate=recreate,
    )


def pruned_how(annotations: dict[str, str]) -> tuple[bool, bool]:
    """(may be pruned, pruned last) for a live object about to be pruned.

    It is read leniently: the object has left git, so a sync option it carries
    that this gitward would refuse must not stop the sync from removing it.
    """
    options = _split(annotations.get(ARGO_SYNC_OPTIONS, ""))
    keep = annotations.get(GITWARD_PRUNE) == "false" or "Prune=false" in options
    return not keep, "PruneLast=true" in options
