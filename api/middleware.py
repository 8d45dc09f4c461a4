"""The API's answer to everything that fails before, or instead of, a DRF view."""

from api.errors import is_api_request, status_error_response


class ApiErrorsAsJsonMiddleware:
    """Under /api/, an error that is not JSON yet — Django's 404 and 500 pages, the empty 405 of a
    method decorator, its debug pages, the refusals of the middleware below it — becomes the API's
    JSON error, so that no client has to read HTML. It is the outermost middleware, so it sees
    every other layer's answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_request(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return status_error_response(request, response)
        return response
