"""For the e2e checks: a self-signed TLS certificate for "localhost", made with the openssl command."""
import os
import subprocess


def make_localhost_certificate(directory):
    """Writes cert.pem and key.pem into `directory` (made if missing): a P-256 key and a
    certificate for CN and subjectAltName localhost, valid two days. Returns (cert, key)."""
    os.makedirs(directory, exist_ok=True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return cert, key
