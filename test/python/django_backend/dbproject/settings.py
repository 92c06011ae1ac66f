"""Settings of the backend's test project: the database from the environment (manage.py)."""

import os

# BALROG_DJANGO_ENGINE -> (ENGINE, OPTIONS)
ENGINES = {
    "stock": ("django.db.backends.postgresql", {}),
    "balrog": ("balrog.django.db.backends.postgresql", {"pool": {"max_size": 20}}),
    "balrog-pipeline": ("balrog.django.db.backends.postgresql",
                        {"pool": {"max_size": 20}, "pipeline": True}),
}
ENGINE_NAME = os.environ.get("BALROG_DJANGO_ENGINE", "balrog")


def _conninfo(text):
    return dict(pair.split("=", 1) for pair in text.split())


_pg = _conninfo(os.environ.get("BALROG_TEST_PG_CONNINFO", "dbname=postgres"))

SECRET_KEY = "balrog-django-backend-test"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "dbproject.urls"
USE_TZ = True
TIME_ZONE = "Europe/Paris"
USE_I18N = True
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "shop",
]
MIDDLEWARE = [
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

DATABASES = {
    "default": {
        "ENGINE": ENGINES[ENGINE_NAME][0],
        "NAME": _pg.get("dbname", "postgres"),
        "USER": _pg.get("user", ""),
        "HOST": _pg.get("host", ""),
        "PORT": _pg.get("port", ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": ENGINES[ENGINE_NAME][1],
        "TEST": {"NAME": "test_shop_" + ENGINE_NAME.replace("-", "_")},
    }
}
