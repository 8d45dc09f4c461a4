"""The account owner is a teammate: an accounts file may name them by e-mail (or username, or
full name), and "Mine" on the accounts page and ?owner=<username> in the API find their accounts."""

from django_tenants.utils import schema_context

from ingest.services import UploadRequest, upload_process, upload_receive
from kpis.models import Account
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client, tenant_member
from tests.ingest.conftest import named

ACCOUNTS = (
    "external_id,name,owner\n"
    "A-1,Mia by e-mail,MIA@alice.example.com\n"
    "A-2,Mia by name,Mia Mills\n"
    "A-3,Mia by username,mia\n"
    "A-4,Someone else,Oscar Other\n"
    "A-5,Nobody,\n"
)
MIAS = {"Mia by e-mail", "Mia by name", "Mia by username"}


def accounts_loaded(tenant) -> None:
    with schema_context(tenant.schema_name):
        upload = upload_receive(
            fileobj=named(ACCOUNTS, "accounts.csv"),
            request=UploadRequest(
                tenant=tenant, original_name="accounts.csv", kind="accounts", acting_role="admin"
            ),
        )
        assert upload_process(upload_id=upload.pk).rejected == 0
        assert Account.objects.count() == 5


def names_on(page: str) -> set[str]:
    with schema_context("alice"):
        return {name for name in Account.objects.values_list("name", flat=True) if f">{name}<" in page}


def test_mine_lists_the_accounts_an_import_gave_me_by_email_name_or_username(alice):
    tenant_member("alice", "mia", role="manager", full_name="Mia Mills")
    accounts_loaded(alice)

    page = signed_in_client("alice", username="mia").get("/accounts/?owner=me").content.decode()

    assert names_on(page) == MIAS
    assert '<option value="me" selected>Mine</option>' in page


def test_mine_is_each_teammates_own(alice):
    tenant_member("alice", "mia", role="manager", full_name="Mia Mills")
    accounts_loaded(alice)
    page = signed_in_client("alice").get("/accounts/?owner=me").content.decode()  # the admin owns none
    assert names_on(page) == set()


def test_the_api_resolves_a_teammate_and_keeps_free_text_owners(alice):
    tenant_member("alice", "mia", role="manager", full_name="Mia Mills")
    accounts_loaded(alice)
    client = api(new_key(alice))

    def names(owner: str) -> set[str]:
        return {row["name"] for row in client.get("/api/v1/accounts/", {"owner": owner}).json()["results"]}

    assert names("mia") == names("mia@alice.example.com") == MIAS
    assert names("Oscar Other") == {"Someone else"}
