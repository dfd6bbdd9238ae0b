"""The ChartMuseum-API client against an in-memory ChartMuseum."""

from __future__ import annotations

import pytest

from gitward.artifacts.chartmuseum import ChartRepository, split_credentials
from gitward.artifacts.credentials import Credentials
from gitward.artifacts.errors import StoreRefused, StoreUnreachable, VersionConflict
from gitward.errors import ExitCode
from tests.unit.ci.fakestores import FakeChartMuseum, make_chart

URL = "http://127.0.0.1:3000/repo"


def repo(fake: FakeChartMuseum, url: str = URL, **kw: object) -> ChartRepository:
    return ChartRepository(url, transport=fake.transport(), **kw)  # type: ignore[arg-type]


def test_upload_publishes_a_new_version_and_names_its_url() -> None:
    fake = FakeChartMuseum()
    with repo(fake) as r:
        done = r.publish(name="hello", version="1.0.0", tgz=make_chart())
    assert done.pushed
    assert done.url == f"{URL}/charts/hello-1.0.0.tgz"
    assert fake.uploads == 1


def test_the_same_chart_again_is_a_no_op_even_when_the_archive_bytes_differ() -> None:
    fake = FakeChartMuseum()
    first, second = make_chart(), make_chart()
    with repo(fake) as r:
        r.publish(name="hello", version="1.0.0", tgz=first)
        again = r.publish(name="hello", version="1.0.0", tgz=second)
    assert not again.pushed
    assert fake.uploads == 1


def test_other_content_under_a_published_version_is_refused_with_exit_2() -> None:
    fake = FakeChartMuseum()
    with repo(fake) as r:
        r.publish(name="hello", version="1.0.0", tgz=make_chart())
        with pytest.raises(VersionConflict, match=r"chart hello 1\.0\.0: .* immutable") as err:
            r.publish(name="hello", version="1.0.0", tgz=make_chart(extra="y: 2\n"))
    assert err.value.exit_code == ExitCode.INPUT
    assert fake.uploads == 1


def test_a_version_uploaded_since_the_index_was_read_is_compared_not_assumed() -> None:
    fake = FakeChartMuseum()
    with repo(fake) as r:
        r.index()  # read when the run began
        fake.charts[("hello", "1.0.0")] = make_chart()  # another run publishes meanwhile
        same = r.publish(name="hello", version="1.0.0", tgz=make_chart())
        assert not same.pushed
        assert same.url == f"{URL}/charts/hello-1.0.0.tgz"
        r.index()
        fake.charts[("hello", "2.0.0")] = make_chart(version="2.0.0")
        with pytest.raises(VersionConflict, match=r"chart hello 2\.0\.0: .* immutable"):
            r.publish(name="hello", version="2.0.0", tgz=make_chart("hello", "2.0.0", "y: 2\n"))
    assert fake.uploads == 0


def test_wrong_credentials_are_exit_3_naming_the_repository_but_not_the_password() -> None:
    fake = FakeChartMuseum(user="builder", password="s3cret-token")
    creds = Credentials("builder", "wrong-password", origin="GITWARD_CHART_REPO_*")
    with repo(fake, credentials=creds) as r, pytest.raises(StoreRefused) as err:
        r.publish(name="hello", version="1.0.0", tgz=make_chart())
    message = str(err.value)
    assert message.startswith(f"chart repository {URL}: refused")
    assert "wrong-password" not in message
    assert err.value.exit_code == ExitCode.CLUSTER
    assert fake.uploads == 0


def test_a_repository_that_is_down_is_exit_3_naming_it() -> None:
    fake = FakeChartMuseum(down=True)
    with repo(fake) as r, pytest.raises(StoreUnreachable, match=rf"^chart repository {URL}: "):
        r.index()


def test_a_token_in_the_url_is_used_as_credentials_and_never_shown() -> None:
    fake = FakeChartMuseum(user="builder", password="tok-123")
    with repo(fake, url="http://builder:tok-123@127.0.0.1:3000/repo") as r:
        done = r.publish(name="hello", version="1.0.0", tgz=make_chart())
    assert "tok-123" not in done.url + done.repository
    assert split_credentials("https://u:p@h.example/x")[0] == "https://h.example/x"


def test_credentials_are_not_sent_in_cleartext_to_another_host() -> None:
    from gitward.errors import ConfigError

    with pytest.raises(ConfigError, match="plain http"):
        ChartRepository("http://u:p@charts.example.com/repo")
