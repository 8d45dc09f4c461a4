"""Workspace users for tests, made through users.services as a tenant's admin makes them."""

import factory

from tests.tenants.factories import PASSWORD
from users.models import User
from users.services import user_create


class UserFactory(factory.Factory):
    """A user of the tenant whose schema the connection is on; they sign in with PASSWORD."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    full_name = factory.LazyAttribute(lambda o: o.username.title())
    role = User.Role.VIEWER
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, **fields) -> User:
        return user_create(acting_role=User.Role.ADMIN, **fields)
