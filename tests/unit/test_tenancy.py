from __future__ import annotations

import pytest

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Tenancy
from gitward.errors import PlanError
from gitward.tenancy import ServiceAccount, service_account_for

SHOP = AppSpec(name="shop", path="apps/shop", namespace="shop")


def test_an_app_runs_as_gitward_itself_unless_an_account_is_named() -> None:
    assert service_account_for(app=SHOP, tenancy=Tenancy()) is None


def test_the_apps_own_account_wins_over_the_operators_default() -> None:
    app = AppSpec(name="shop", path="a", namespace="shop", service_account_name="deployer")
    account = service_account_for(app=app, tenancy=Tenancy(default_service_account="tenant"))
    assert account == ServiceAccount(namespace="shop", name="deployer")


def test_the_default_account_is_looked_up_in_the_apps_namespace() -> None:
    account = service_account_for(app=SHOP, tenancy=Tenancy(default_service_account="tenant"))
    assert account is not None
    assert account.user == "system:serviceaccount:shop:tenant"


@pytest.mark.parametrize(
    ("app", "tenancy", "origin"),
    [
        (
            AppSpec(name="x", path="x", namespace=""),
            Tenancy(default_service_account="t"),
            "the default service account t",
        ),
        (
            AppSpec(name="x", path="x", namespace="", service_account_name="d"),
            Tenancy(),
            "serviceAccountName d",
        ),
    ],
)
def test_an_account_without_a_namespace_to_find_it_in_is_a_plan_error(
    app: AppSpec, tenancy: Tenancy, origin: str
) -> None:
    with pytest.raises(PlanError, match=f"^app x: {origin} needs the app's namespace"):
        service_account_for(app=app, tenancy=tenancy)
