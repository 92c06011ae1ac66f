#!/usr/bin/python3
"""Django's command-line utility for the food-delivery example (see README.md).

It calls balrog.patch() first, as balrog-wsgi does: psycopg2 and requests wait in balrog's
hub, and Django's per-thread state is per greenlet, so `manage.py test` (delivery/tests.py)
runs the app as it runs under balrog-wsgi, on either database backend
(FOOD_DELIVERY_DB_ENGINE).
"""
import os
import sys

import balrog


def main():
    balrog.patch()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fooddelivery.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
