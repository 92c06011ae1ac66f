"""Fixtures of the Python suite: a throwaway PostgreSQL cluster (scripts/pg-cluster), started
once per pytest process on first use and stopped at its end. BALROG_TEST_PG_CONNINFO names an
existing server instead (nothing is started then)."""

import os
import subprocess
import tempfile

import pytest

SOURCE_DIR = os.environ.get("BALROG_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
PG_CLUSTER = os.path.join(SOURCE_DIR, "scripts", "pg-cluster")


@pytest.fixture(scope="session")
def pg_dsn():
    given = os.environ.get("BALROG_TEST_PG_CONNINFO")
    if given:
        yield given
        return
    directory = tempfile.mkdtemp(prefix="balrog-pytest-")
    out = subprocess.run([PG_CLUSTER, "start", directory], capture_output=True, text=True,
                         check=True)
    try:
        yield out.stdout.strip()
    finally:
        subprocess.run([PG_CLUSTER, "stop", directory], capture_output=True, text=True)


@pytest.fixture
def conn(pg_dsn):
    from balrog import pg

    c = pg.connect(pg_dsn)
    yield c
    c.close()


@pytest.fixture
def autoconn(pg_dsn):
    from balrog import pg

    c = pg.connect(pg_dsn, autocommit=True)
    yield c
    c.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost: (key file, certificate file), PEM."""
    d = tmp_path_factory.mktemp("tls")
    key, crt = str(d / "key.pem"), str(d / "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return key, crt
