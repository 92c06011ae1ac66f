#!/usr/bin/python3
"""manage.py of the test project of balrog's Django backend (test/python/test_django_backend.py).

It calls balrog.patch() first, as balrog-wsgi does: psycopg2 waits in the hub, and Django's
per-thread state (connections, translations) is per greenlet. Settings come from the
environment: BALROG_DJANGO_ENGINE ("stock": django.db.backends.postgresql on psycopg2,
"balrog": balrog.django.db.backends.postgresql on balrog.pg, "balrog-pipeline": the same with
OPTIONS["pipeline"]) and BALROG_TEST_PG_CONNINFO.
"""
import os
import sys

import balrog

if __name__ == "__main__":
    balrog.patch()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dbproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
