"""A Django database backend on balrog.pg: ``ENGINE: "balrog.django.db.backends.postgresql"``.

Django's own PostgreSQL backend (its features, SQL, introspection, schema editor, client and
test-database creation), with balrog.pg as the driver and connections borrowed from a
balrog.pg pool. See docs/python.md, "Django on balrog".
"""
