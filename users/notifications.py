"""E-mail to one user about what is theirs, only when they chose to hear of it
(Settings → Notifications) and have an address. Product apps' tasks call this; the choices are
the user's, so the check lives here rather than in every app that sends."""

from django.core.mail import send_mail

from users.models import User

CHOICES = ("notify_on_assignment", "notify_when_due", "notify_daily_digest")


def user_mail_if_wanted(*, username: str, choice: str, subject: str, body: str) -> bool:
    """Send and say so; False when the user is unknown, inactive, has no address or opted out."""
    if choice not in CHOICES:
        raise ValueError(f"{choice} is not a notification choice; use one of {', '.join(CHOICES)}.")
    user = User.objects.filter(username=username, is_active=True).exclude(email="").first()
    if user is None or not getattr(user, choice):
        return False
    send_mail(subject, body, None, [user.email])
    return True
