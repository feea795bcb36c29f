"""The sandbox's own TLS certificate: clients pin it, so only their sandbox can read a request.

Made once per LABKIT_HOME (a self-signed certificate for 127.0.0.1, its private key 0600 in the
learner's 0700 folder) and kept across restarts. A process of another user that takes over an
old port of the sandbox has no key for it: the lab's clients, its CLI files (`ca_bundle`) and
its terminals (`AWS_CA_BUNDLE`) refuse to talk to it before a byte of a request is sent.
"""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from labkit.sandbox import state

CERT = state.CERT
KEY = "sandbox-key.pem"
VALID_DAYS = 3650


def certificate(home: Path) -> tuple[Path, Path]:
    """The sandbox's certificate and key files in HOME, made on first use."""
    cert, key = home / CERT, home / KEY
    if not (_usable(cert) and _usable(key)):
        pem_cert, pem_key = _make()
        state.write_private_text(key, pem_key)
        state.write_private_text(cert, pem_cert)
    return cert, key


def _usable(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _make() -> tuple[str, str]:
    """A fresh EC P-256 key and a self-signed certificate for 127.0.0.1 (PEM texts)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labkit sandbox")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def server_context(home: Path) -> ssl.SSLContext:
    """The server side: the sandbox's certificate and key."""
    cert, key = certificate(home)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def client_context(ca: str | None) -> ssl.SSLContext:
    """The client side: trust only the sandbox's certificate."""
    return ssl.create_default_context(cafile=ca)
