import datetime as dt
import json
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from zoneinfo import ZoneInfo

from tenants.admission import api_request_admit
from tenants.models import UsageMonth
from tenants.services import tenant_change_plan
from tenants.usage import month_reset_at, month_start
from tests.api.helpers import api, error_of, new_key
from tests.live_server import gunicorn
from tests.tenants.factories import PlanFactory

PROCESSES, REQUESTS_PER_PROCESS = 4, 125


def status_of(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def answer_of(url: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def burst(url: str, key: str) -> list[int]:
    """One client process: its requests in flight at once on a thread pool."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda _: status_of(url, key), range(REQUESTS_PER_PROCESS)))


def test_exactly_the_limit_succeeds_under_concurrent_load(committed_tenants):
    tenant = committed_tenants("alice")
    tenant_change_plan(
        tenant=tenant,
        plan=PlanFactory(max_api_requests_per_month=100),
    )
    key = new_key(tenant)

    with gunicorn() as base_url, ProcessPoolExecutor(max_workers=PROCESSES) as clients:
        runs = clients.map(burst, [f"{base_url}/api/v1/me/"] * PROCESSES, [key] * PROCESSES)
        statuses = [status for run in runs for status in run]

    assert statuses.count(200) == 100
    assert statuses.count(429) == 400
    assert UsageMonth.objects.get(tenant=tenant).requests == 100


def test_a_thousand_requests_from_a_hundred_threads_get_exactly_the_quota(committed_tenants):
    tenant = committed_tenants("alice")
    tenant_change_plan(tenant=tenant, plan=PlanFactory(max_api_requests_per_month=200))
    key = new_key(tenant)

    with gunicorn() as base_url, ThreadPoolExecutor(max_workers=100) as clients:
        answers = list(clients.map(lambda _: answer_of(f"{base_url}/api/v1/me/", key), range(1000)))

    statuses = [status for status, _ in answers]
    refusals = [body["error"] for status, body in answers if status == 429]
    assert (statuses.count(200), statuses.count(429)) == (200, 800)
    assert all(error["code"] == "quota_exceeded" for error in refusals)
    assert all((error["limit"], error["used"]) == (200, 200) for error in refusals)
    assert UsageMonth.objects.get(tenant=tenant).requests == 200


def test_over_the_limit_the_429_names_the_limit_usage_and_reset(alice):
    tenant_change_plan(
        tenant=alice,
        plan=PlanFactory(max_api_requests_per_month=2),
    )
    client = api(new_key(alice))
    first, second, third = (client.get("/api/v1/me/") for _ in range(3))

    assert (first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == ("1", "0")
    assert third.status_code == 429
    error = error_of(third)
    assert error["code"] == "quota_exceeded"
    assert (error["limit"], error["used"]) == (2, 2)
    assert error["resets_at"] == month_reset_at(alice).isoformat()
    assert third["X-RateLimit-Limit"] == "2" and third["X-RateLimit-Reset"]


def test_usage_resets_at_the_month_boundary_in_the_tenants_timezone(alice):
    alice.timezone = "America/New_York"
    alice.save()
    new_york = ZoneInfo("America/New_York")
    last_minute_of_january = dt.datetime(2027, 1, 31, 23, 59, tzinfo=new_york)
    first_minute_of_february = dt.datetime(2027, 2, 1, 0, 0, tzinfo=new_york)

    key = new_key(alice)
    for _ in range(3):
        api_request_admit(presented=key, scopes=["write"], now=last_minute_of_january)
    february = api_request_admit(presented=key, scopes=["write"], now=first_minute_of_february)

    assert february.quota.used == 1 and february.usage["month"] == dt.date(2027, 2, 1)
    # 04:59 UTC on 1 February is still January in New York.
    assert month_start(alice, dt.datetime(2027, 2, 1, 4, 59, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)
    assert month_reset_at(alice, last_minute_of_january) == first_minute_of_february
    assert list(UsageMonth.objects.filter(tenant=alice).values_list("month", "requests")) == [
        (dt.date(2027, 2, 1), 1),
        (dt.date(2027, 1, 1), 3),
    ]
