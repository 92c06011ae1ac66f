"""balrog.django: Django on balrog.

``balrog.django.db.backends.postgresql`` is a Django database backend (Django 3.2's
``django.db.backends.postgresql``, with balrog.pg in place of psycopg2 and connections borrowed
from balrog.pg pools). See docs/python.md, "Django on balrog".
"""
