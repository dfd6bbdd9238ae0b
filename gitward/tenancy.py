"""Which identity an app deploys with: the one decision the CLI and the controller share.

An app that names a ``serviceAccountName`` (or, under the operator's
``--default-service-account``, every app that names none) has its plan,
apply, prune and health reads authorized as that ServiceAccount, through the
API's impersonation headers. The account lives in the app's namespace, as
Flux's Kustomization looks it up in its own. gitward's records and watches
stay on gitward's own identity.

Only ``Impersonate-User`` is sent. For a ServiceAccount user the API server
then adds the groups a real token of the account carries
(``system:serviceaccounts``, ``system:serviceaccounts:NS`` and
``system:authenticated``), so RBAC bound to those groups counts as well;
naming the groups in ``Impersonate-Group`` headers would give the same
identity but require gitward to hold ``impersonate`` on ``groups`` too, where
this way it needs it on the account alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Tenancy
from gitward.errors import PlanError
from gitward.kube import Kube


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str

    @property
    def user(self) -> str:
        """The user name the API server gives this account's tokens."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


def service_account_for(*, app: AppSpec, tenancy: Tenancy) -> ServiceAccount | None:
    """The account ``app`` runs as; ``None``: gitward's own identity.

    Raises :class:`PlanError` for an account without a namespace to find it in.
    """
    name = app.service_account_name or tenancy.default_service_account
    if not name:
        return None
    if not app.namespace:
        origin = (
            f"serviceAccountName {name}"
            if app.service_account_name
            else f"the default service account {name}"
        )
        raise PlanError(
            f"app {app.name}: {origin} needs the app's namespace to find the account in; "
            "set namespace in gitward.yaml"
        )
    return ServiceAccount(namespace=app.namespace, name=name)


def client_for(*, kube: Kube, app: AppSpec, tenancy: Tenancy) -> Kube:
    """The client ``app``'s own requests go through: ``kube`` itself, or it impersonating
    the app's ServiceAccount (sharing its connections and discovery: no extra request)."""
    account = service_account_for(app=app, tenancy=tenancy)
    if account is None:
        return kube
    return kube.impersonating(user=account.user)


__all__ = ["ServiceAccount", "client_for", "service_account_for"]
