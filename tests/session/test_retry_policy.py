"""Retry, the policy object: counters per kind, methods, backoff, Retry-After."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from pollhttp import InvalidParameterError
from pollhttp.retry import Failure, Retry, parse_retry_after


def spend(policy: Retry | None, method: str, failure: Failure, times: int) -> Retry | None:
    for _ in range(times):
        assert policy is not None
        policy = policy.increment(method, failure)
    return policy


def test_total_caps_every_kind_together():
    policy: Retry | None = Retry(total=3)
    policy = spend(policy, "GET", Failure.CONNECT, 2)
    assert policy is not None
    policy = policy.increment("GET", Failure.STATUS)
    assert policy is not None
    assert policy.retries == 3
    assert policy.increment("GET", Failure.READ) is None


@pytest.mark.parametrize("failure", list(Failure))
def test_each_kind_has_its_own_cap(failure):
    caps: dict[str, Any] = {failure.value: 1}
    policy = Retry(total=None, **caps)
    once = policy.increment("GET", failure)
    assert once is not None
    assert once.increment("GET", failure) is None
    others = [f for f in Failure if f is not failure]
    assert spend(once, "GET", others[0], 5) is not None  # other kinds are not capped


def test_a_request_that_may_have_reached_the_server_is_resent_only_for_allowed_methods():
    policy = Retry(total=5)
    assert policy.increment("POST", Failure.READ) is None
    assert policy.increment("POST", Failure.STATUS) is None
    # Nothing reached the server: a connect failure is retried for any method.
    assert policy.increment("POST", Failure.CONNECT) is not None
    assert Retry(allowed_methods=frozenset({"post"})).increment("POST", Failure.READ) is not None


def test_status_forcelist_and_methods():
    policy = Retry()
    assert policy.is_retry_status("GET", 503)
    assert policy.is_retry_status("get", 429)
    assert not policy.is_retry_status("GET", 500)
    assert not policy.is_retry_status("POST", 503)
    assert Retry(status_forcelist=frozenset({500})).is_retry_status("GET", 500)


def test_backoff_doubles_from_the_second_retry_and_is_capped():
    policy = Retry(total=10, backoff_factor=0.5, backoff_max=3.0)
    waits = []
    for _ in range(6):
        retried = policy.increment("GET", Failure.CONNECT)
        assert retried is not None
        policy = retried
        waits.append(policy.backoff())
    assert waits == [0.0, 1.0, 2.0, 3.0, 3.0, 3.0]
    huge = Retry(total=None, backoff_factor=1.0, backoff_max=5.0, retries=10_000)
    assert huge.backoff() == 5.0  # no overflow


def test_retry_after_seconds_and_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after("7", now) == 7.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(30.0, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for bad in ("soon", "-5", "1.5", "", "Mon, 99 Foo 2020 00:00:00 GMT"):
        assert parse_retry_after(bad, now) is None


def test_delay_uses_retry_after_capped_by_backoff_max():
    policy = Retry(backoff_factor=1.0, backoff_max=10.0).increment("GET", Failure.STATUS)
    assert policy is not None
    assert policy.delay("4") == 4.0
    assert policy.delay("3600") == 10.0
    assert policy.delay("nonsense") == policy.backoff()
    assert Retry(respect_retry_after=False).delay("4") == 0.0


@pytest.mark.parametrize(
    ("value", "total"), [(None, 0), (False, 0), (True, 3), (0, 0), (5, 5), (Retry(total=2), 2)]
)
def test_from_value(value, total):
    assert Retry.from_value(value).total == total


@pytest.mark.parametrize(
    "kwargs",
    [
        {"total": -1},
        {"total": "3"},
        {"backoff_factor": -1.0},
        {"backoff_max": float("nan")},
        {"status_forcelist": "503"},
        {"status_forcelist": ["503"]},
        {"allowed_methods": [1]},
    ],
)
def test_bad_policies_are_refused(kwargs):
    with pytest.raises(InvalidParameterError):
        Retry(**kwargs)


@pytest.mark.parametrize("value", ["3", 1.5, object()])
def test_bad_retries_values_are_refused(value):
    with pytest.raises(TypeError):
        Retry.from_value(value)
