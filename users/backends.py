from django.contrib.auth.backends import ModelBackend

from users.selectors import login_username


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the e-mail address, in the current schema only."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username:
            username = login_username(username)
        return super().authenticate(request, username=username, password=password, **kwargs)
