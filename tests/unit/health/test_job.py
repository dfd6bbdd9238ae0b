from __future__ import annotations

from gitward.health import HealthStatus, job

from ._fixtures import load


def test_completed_job_is_healthy() -> None:
    health = job.assess(load("job-complete"))
    assert health.status is HealthStatus.HEALTHY
    assert health.message == "job completed"


def test_job_past_its_backoff_limit_is_degraded() -> None:
    health = job.assess(load("job-failed"))
    assert health.status is HealthStatus.DEGRADED
    assert "BackoffLimitExceeded" in health.message
    assert "Job has reached the specified backoff limit" in health.message


def test_job_with_failure_target_is_degraded_before_failed_is_set() -> None:
    body = load("job-failed")
    body["status"]["conditions"] = body["status"]["conditions"][:1]
    assert job.assess(body).status is HealthStatus.DEGRADED


def test_running_job_is_progressing_with_pod_counts() -> None:
    health = job.assess(load("job-running"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "job is running (2 active, 1 succeeded, 0 failed)"


def test_suspended_job_is_progressing() -> None:
    health = job.assess(load("job-suspended"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "job is suspended"
