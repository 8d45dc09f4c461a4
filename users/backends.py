from django.contrib.auth.backends import ModelBackend

from users.models import User


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the e-mail address, in the current schema only."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and "@" in username:
            match = User.objects.filter(email__iexact=username).order_by("pk").first()
            if match is not None:
                username = match.username
        return super().authenticate(request, username=username, password=password, **kwargs)
