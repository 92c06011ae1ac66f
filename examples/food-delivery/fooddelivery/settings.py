"""Settings of the food-delivery example: stock Django, configured from the environment.

  PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD   the PostgreSQL server (libpq's names)
  FOOD_DELIVERY_DB_ENGINE   the database backend: django.db.backends.postgresql (Django's
                            own, on psycopg2, which balrog.patch() makes cooperative; the
                            default) or balrog.django.db.backends.postgresql (on balrog.pg)
  FOOD_DELIVERY_CONN_MAX_AGE  Django's CONN_MAX_AGE: seconds, or "none" (forever); default 0
  KITCHEN_URL               where orders go (default http://127.0.0.1:8001/orders)
  FOOD_DELIVERY_WS_KEY      the cookie naming a customer's WebSocket; it must match
                            balrog-wsgi's --ws-key (default "customer")
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "food-delivery-example-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

ROOT_URLCONF = "fooddelivery.urls"
WSGI_APPLICATION = "fooddelivery.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": os.environ.get("FOOD_DELIVERY_DB_ENGINE", "django.db.backends.postgresql"),
        "NAME": os.environ.get("PGDATABASE", "food_delivery"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
        # Django's own setting (seconds a connection is kept; 0: one per request, None: forever)
        "CONN_MAX_AGE": (None if os.environ.get("FOOD_DELIVERY_CONN_MAX_AGE") == "none"
                         else int(os.environ.get("FOOD_DELIVERY_CONN_MAX_AGE", "0"))),
        # manage.py test: one test database per backend, so both can run side by side
        "TEST": {"NAME": "test_food_delivery_" + (
            "balrog" if os.environ.get("FOOD_DELIVERY_DB_ENGINE", "").startswith("balrog")
            else "stock")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"

STATIC_DIR = BASE_DIR / "static"
STATIC_URL = "/static/"  # the admin's links; its CSS is not served (no staticfiles app)
KITCHEN_URL = os.environ.get("KITCHEN_URL", "http://127.0.0.1:8001/orders")
KITCHEN_TIMEOUT = float(os.environ.get("KITCHEN_TIMEOUT", "10"))
WS_KEY = os.environ.get("FOOD_DELIVERY_WS_KEY", "customer")

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}
