"""When the controller can open rollback pull requests from the UI, and when it says why not."""

from __future__ import annotations

from gitward.forge import ForgeSettings
from gitward.heal.rollbacks import NO_FORGE, NO_TOKEN, RollbackSettings

FORGE = ForgeSettings(kind="gitea", url="http://127.0.0.1:3000", repo="org/config", token="t")


def test_without_a_forge_or_a_promoter_token_rollbacks_are_off_and_say_what_to_set() -> None:
    assert RollbackSettings(repo="r", base="main", forge=None, token="p").refusal() == NO_FORGE
    assert RollbackSettings(repo="r", base="main", forge=FORGE, token="").refusal() == NO_TOKEN
    assert "--forge-url" in NO_FORGE
    assert "--rollback-token-file" in NO_TOKEN and "GITWARD_FORGE_TOKEN_PROMOTER" in NO_TOKEN
    assert RollbackSettings(repo="r", base="main", forge=FORGE, token="p").refusal() == ""


def test_the_promoter_token_never_shows_in_the_settings_repr() -> None:
    settings = RollbackSettings(repo="r", base="main", forge=FORGE, token="promoter-secret")
    assert "promoter-secret" not in repr(settings)
