import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from tenants.models import Domain, Tenant
from tests.conftest import host_client, schemas_drop
from users.models import User

GOOD = {
    "company_name": "Acme Corp",
    "subdomain": "acme-corp",
    "admin_name": "Ada Admin",
    "email": "ada@acme.example.com",
    "password": "plum-orbit-cactus-93",
}


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        return {row[0] for row in cursor.fetchall()}


def register(client, **changes):
    return client.post("/register", {**GOOD, **changes})


def nothing_created(slug: str) -> bool:
    return not Tenant.objects.filter(schema_name=slug).exists() and not schema_exists(slug)


def test_it_shows_the_registration_form(public):
    response = host_client(None).get("/register")
    assert response.status_code == 200
    assert b"Create your Pulse workspace" in response.content


def test_it_provisions_the_tenant_and_signs_the_admin_in_on_its_host(public):
    response = register(host_client(None))

    assert response.status_code == 302
    assert response["Location"].startswith("http://acme-corp.localhost/welcome/")
    tenant = Tenant.objects.get(schema_name="acme-corp")
    assert tenant.name == "Acme Corp" and tenant.contact_email == GOOD["email"]
    assert Domain.objects.get(tenant=tenant).domain == "acme-corp.localhost"
    with schema_context("acme-corp"):
        admin = User.objects.get()
        assert admin.role == User.Role.ADMIN
        assert admin.password.startswith("argon2")

    tenant_client = host_client("acme-corp")
    welcome = tenant_client.get(response["Location"].removeprefix("http://acme-corp.localhost"))
    assert welcome.status_code == 302 and welcome["Location"] == "/"
    home = tenant_client.get("/")
    assert home.status_code == 200
    assert b"Acme Corp dashboard" in home.content


def test_the_welcome_link_works_only_once(public):
    location = register(host_client(None))["Location"].removeprefix("http://acme-corp.localhost")
    host_client("acme-corp").get(location)

    replay = host_client("acme-corp")
    response = replay.get(location)
    assert response["Location"] == "/login/"
    assert replay.get("/").status_code == 302


def test_the_welcome_link_of_one_tenant_is_refused_on_another(public, bob):
    location = register(host_client(None))["Location"].removeprefix("http://acme-corp.localhost")

    thief = host_client("bob")
    thief.get(location)
    assert thief.get("/").status_code == 302  # still not signed in on bob


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("ab", "3 to 30 lowercase letters"),
        ("Has_Underscore", "3 to 30 lowercase letters"),
        ("-dash-first", "3 to 30 lowercase letters"),
        ("x" * 31, "at most 30 characters"),
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("public", "reserved"),
        ("static", "reserved"),
    ],
)
def test_it_rejects_a_bad_subdomain_and_creates_nothing(public, subdomain, message):
    schemas_before = schema_names()
    response = register(host_client(None), subdomain=subdomain)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Tenant.objects.count() == 1  # the public tenant only
    assert schema_names() == schemas_before


def test_it_rejects_a_taken_subdomain(public, bob):
    response = register(host_client(None), subdomain="bob")

    assert "already taken" in response.content.decode()
    assert Tenant.objects.filter(schema_name="bob").count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "too short"),
        ("password1234", "too common"),
        ("8437261590123", "entirely numeric"),
        ("ada@acme.example.com", "too similar"),
    ],
)
def test_it_rejects_a_weak_password_and_creates_nothing(public, password, message):
    response = register(host_client(None), password=password)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_created("acme-corp")


@pytest.mark.parametrize("field", ["company_name", "admin_name", "email", "password"])
def test_it_requires_every_field(public, field):
    response = register(host_client(None), **{field: ""})

    assert "This field is required" in response.content.decode()
    assert nothing_created("acme-corp")


def test_it_rejects_an_invalid_email(public):
    response = register(host_client(None), email="not-an-email")

    assert "Enter a valid email address" in response.content.decode()
    assert nothing_created("acme-corp")


def test_two_concurrent_registrations_of_one_subdomain_make_exactly_one_tenant(transactional_db):
    from tenants.services import public_tenant_ensure

    public_tenant_ensure()
    start = threading.Barrier(2)
    responses = []

    def attempt(email):
        start.wait()
        try:
            responses.append(register(host_client(None), email=email))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(f"user{i}@acme.example.com",)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        codes = sorted(response.status_code for response in responses)
        assert codes == [200, 302]
        loser = next(response for response in responses if response.status_code == 200)
        assert "already taken" in loser.content.decode()
        assert Tenant.objects.filter(schema_name="acme-corp").count() == 1
        with schema_context("acme-corp"):
            assert User.objects.count() == 1
    finally:
        schemas_drop(["acme-corp"])


# --- Per-address limit ------------------------------------------------------------------------

ELSEWHERE = "198.51.100.7"
LIMITED = r"Too many registrations from your address\. Try again at \d\d:00 UTC \(in \d+ minutes?\)\."


def register_as(client, n: int):
    return register(client, subdomain=f"burst-{n}", email=f"ada{n}@burst.example.com")


def test_registrations_from_one_address_are_limited_per_hour(public, settings):
    settings.REGISTRATION_LIMIT_PER_HOUR = 2
    client = host_client(None)
    assert [register_as(client, n).status_code for n in range(2)] == [302, 302]

    refused = register_as(client, 2)
    assert refused.status_code == 429
    assert re.search(LIMITED, refused.content.decode())
    assert b"Create your Pulse workspace" in refused.content
    assert nothing_created("burst-2")


def test_another_address_still_registers(public, settings):
    settings.REGISTRATION_LIMIT_PER_HOUR = 1
    register_as(host_client(None), 0)
    assert register_as(host_client(None), 1).status_code == 429

    elsewhere = Client(HTTP_HOST="localhost", REMOTE_ADDR=ELSEWHERE)
    assert register_as(elsewhere, 1).status_code == 302


def test_refused_forms_count_towards_the_limit(public, settings):
    settings.REGISTRATION_LIMIT_PER_HOUR = 2
    client = host_client(None)
    for _ in range(2):
        assert register(client, password="short1").status_code == 200

    assert register(client).status_code == 429
    assert nothing_created("acme-corp")


def test_the_limit_follows_the_trusted_proxy_setting(public, settings):
    settings.REGISTRATION_LIMIT_PER_HOUR = 1
    settings.TRUSTED_PROXY_COUNT = 1
    register_as(Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_FOR="203.0.113.9"), 0)

    assert (
        register_as(Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_FOR="203.0.113.9"), 1).status_code == 429
    )
    assert register_as(Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_FOR=ELSEWHERE), 2).status_code == 302
