"""gunicorn config for the gevent peer of scripts/bench django: psycopg2 made cooperative with
psycogreen in each worker (gunicorn's gevent worker has monkey-patched the standard library by
then; psycopg2 is C code and needs psycogreen's wait callback)."""


def post_fork(server, worker):
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
    worker.log.info("psycogreen: psycopg2 patched for gevent")
