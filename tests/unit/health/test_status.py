from __future__ import annotations

from gitward.health import Health, HealthStatus, aggregate, worse

HEALTHY = HealthStatus.HEALTHY
PROGRESSING = HealthStatus.PROGRESSING
DEGRADED = HealthStatus.DEGRADED
MISSING = HealthStatus.MISSING
UNKNOWN = HealthStatus.UNKNOWN


def test_statuses_are_ordered_by_severity() -> None:
    assert HEALTHY < PROGRESSING < DEGRADED < MISSING < UNKNOWN
    assert sorted([UNKNOWN, HEALTHY, MISSING, DEGRADED, PROGRESSING]) == list(HealthStatus)
    assert UNKNOWN >= MISSING
    assert not DEGRADED <= PROGRESSING


def test_worse_picks_the_most_severe_status() -> None:
    assert worse(PROGRESSING, HEALTHY, DEGRADED) is DEGRADED
    assert worse(MISSING, UNKNOWN) is UNKNOWN


def test_worse_of_nothing_is_healthy() -> None:
    assert worse() is HEALTHY


def test_status_prints_as_its_api_name() -> None:
    assert str(PROGRESSING) == "Progressing"
    assert str(Health(DEGRADED, "boom")) == "Degraded: boom"
    assert str(Health(HEALTHY)) == "Healthy"


def test_health_worse_keeps_the_first_on_a_tie() -> None:
    first, second = Health(PROGRESSING, "first"), Health(PROGRESSING, "second")
    assert first.worse(second) is first
    assert first.worse(Health(DEGRADED, "bad")).message == "bad"


def test_aggregate_takes_status_and_message_from_the_worst() -> None:
    result = aggregate(
        [
            Health(HEALTHY),
            Health(PROGRESSING, "1 of 2 replicas are ready"),
            Health(DEGRADED, "container web: ImagePullBackOff"),
            Health(PROGRESSING, "waiting"),
        ]
    )
    assert result == Health(DEGRADED, "container web: ImagePullBackOff")


def test_aggregate_of_nothing_is_healthy() -> None:
    assert aggregate([]) == Health(HEALTHY)


def test_aggregate_accepts_any_iterable() -> None:
    assert aggregate(h for h in [Health(MISSING, "gone")]).status is MISSING


def test_health_constructors_name_their_status() -> None:
    assert Health.healthy() == Health(HEALTHY, "")
    assert Health.progressing("p") == Health(PROGRESSING, "p")
    assert Health.degraded("d") == Health(DEGRADED, "d")
    assert Health.missing() == Health(MISSING, "not found in the cluster")
    assert Health.unknown("u") == Health(UNKNOWN, "u")
