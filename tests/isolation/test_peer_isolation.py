"""Peer benchmarks across tenants: a tenant outside neither contributes nor sees, one tenant's
figures are never published alone, and nothing but published cells outlives the nightly task
(no table column, task result, cache key or file holds a tenant's aggregate)."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache

from kpis.services import peer_benchmarks_refresh
from kpis.tasks import peer_benchmarks_publish
from peers.models import PeerCell
from tenants.models import ApiKey
from tests.api.helpers import api, new_key
from tests.peers.conftest import KPI, TODAY, five_peers_make, peer_tenant_make

pytestmark = pytest.mark.django_db


def test_one_big_tenant_among_small_ones_is_never_published(public):
    for i in range(4):
        peer_tenant_make(f"small{i}", [40.0 + i] * 10)
    peer_tenant_make("giant", [90.0] * 200)
    result = peer_benchmarks_refresh(today=TODAY)
    assert not PeerCell.objects.exists()
    assert result.published == 0 and result.withheld > 0


def test_a_tenant_outside_sees_nothing_while_its_neighbours_share(public):
    five_peers = five_peers_make()
    outsider = peer_tenant_make("outsider", [10.0] * 30, opted_in=False)
    peer_benchmarks_refresh(today=TODAY)
    assert PeerCell.objects.filter(kpi_key=KPI).exists()
    response = api(new_key(outsider, scope=ApiKey.Scope.READ)).get("/api/v1/benchmarks/")
    assert response.status_code == 403
    peer = api(new_key(five_peers[0], scope=ApiKey.Scope.READ)).get("/api/v1/benchmarks/", {"kpi": KPI})
    assert peer.json()["results"][0]["companies"] == 5  # the outsider is not among them


def test_the_task_leaves_only_published_cells_behind(public):
    five_peers_make()
    media_before = _files(settings.MEDIA_ROOT)
    keys_before = set(_cache_keys())
    outcome = peer_benchmarks_publish()
    assert set(outcome) == {"published", "withheld"}  # counts only: a task result names no tenant
    assert set(_cache_keys()) == keys_before
    assert _files(settings.MEDIA_ROOT) == media_before
    columns = {field.name for field in PeerCell._meta.get_fields()}
    assert not {"tenant", "schema_name", "quantiles"} & columns


def _cache_keys() -> list[bytes]:
    return list(cache._cache.get_client(write=False).scan_iter(match="*"))


def _files(root) -> set[str]:
    return {os.path.join(folder, name) for folder, _dirs, names in os.walk(root) for name in names}
