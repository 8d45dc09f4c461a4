from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from tenants.limits import user_limit_check  # models are loaded only now
        from users.services import user_adding

        user_adding.connect(user_limit_check, dispatch_uid="tenants.plan_user_limit")
