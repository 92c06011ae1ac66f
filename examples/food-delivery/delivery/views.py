"""The food-delivery views: plain synchronous Django code.

place_order is the seed's view: it saves the order, POSTs it to the kitchen with requests,
matches on the answer, tells the customer over WebSocket and answers JSON. Under balrog-wsgi
(which calls balrog.patch()) each request runs in its own greenlet and every wait in it —
psycopg2's queries, requests' socket I/O, the WebSocket send — lets the other requests run.
"""

import json
import secrets

import requests
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from balrog.ws import get_ws_connection

from .models import Order
from .orders import prepare_order

STATIC_FILES = {"index.html": "text/html; charset=utf-8",
                "app.js": "text/javascript; charset=utf-8"}


@ensure_csrf_cookie
def index(request):
    """The page; a new visitor gets a customer id, in the cookie balrog.ws reads."""
    response = FileResponse(open(settings.STATIC_DIR / "index.html", "rb"),
                            content_type=STATIC_FILES["index.html"])
    if not request.COOKIES.get(settings.WS_KEY):
        response.set_cookie(settings.WS_KEY, secrets.token_hex(8), samesite="Strict")
    return response


def static_file(request, name):
    if name not in STATIC_FILES:
        raise Http404(name)
    return FileResponse(open(settings.STATIC_DIR / name, "rb"), content_type=STATIC_FILES[name])


def kitchen_error(order, status, body):
    order.status, order.kitchen_answer = Order.KITCHEN_ERROR, body
    order.save(update_fields=["status", "kitchen_answer"])
    return JsonResponse({"order": order.pk, "error": "the kitchen did not take the order",
                         "kitchen_status": status, "kitchen_answer": body}, status=502)


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


@require_POST
def place_order(request):
    customer = request.COOKIES.get(settings.WS_KEY)
    if not customer:
        return JsonResponse({"error": "no customer cookie: open the page first"}, status=400)
    try:
        form = json.loads(request.body or b"{}")
        dish = str(form["dish"])[:100]
        quantity = int(form.get("quantity", 1))
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("expected JSON {\"dish\": ..., \"quantity\": ...}")
    order = Order.objects.create(customer=customer, dish=dish, quantity=max(1, quantity),
                                 address=str(form.get("address", ""))[:200])
    try:
        r = requests.post(settings.KITCHEN_URL, json=prepare_order(order),
                          timeout=settings.KITCHEN_TIMEOUT)
    except requests.RequestException as e:
        return kitchen_error(order, None, str(e))
    match r.status_code, _json_or_none(r):
        case 201, {"mins": int(mins)} as answer:
            order.status, order.mins, order.kitchen_answer = Order.ACCEPTED, mins, answer
            order.save(update_fields=["status", "mins", "kitchen_answer"])
            get_ws_connection(request).send(
                f"Order #{order.pk} will be delivered in {mins} minutes.")
            return JsonResponse({"order": order.pk, "mins": mins}, status=201)
        case status, body:
            return kitchen_error(order, status, body)
