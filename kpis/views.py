"""Portal pages about accounts and health."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """The tenant's dashboard. Until data arrives it tells a new tenant what to do first."""
    return render(request, "kpis/home.html")
