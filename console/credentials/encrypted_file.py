"""The opt-in encrypted credentials file (``credentials.encrypted_file``).

For hosts with no usable OS keyring. The passphrase comes from the host (the TUI asks
inside the app, the CLI with getpass); it is never read from the terminal here.

Format (JSON, written atomically with mode 0600)::

    {"format_version": 1, "scheme": "...", "kdf": {"name": "scrypt", "n": 32768,
     "r": 8, "p": 1, "salt": "<b64>"}, "nonce": "<b64>", "ciphertext": "<b64>",
     "tag": "<b64>"}

Key derivation is always ``hashlib.scrypt`` (n=2**15, r=8, p=1, 16-byte salt).
Two authenticated schemes; the header (scheme and KDF parameters) is bound in as
associated data, so changing it breaks authentication:

* ``scrypt-aes256gcm``: AES-256-GCM from the ``cryptography`` package, used when it
  is importable (keyring pulls it in on Linux through SecretStorage).
* ``scrypt-shake256-hmacsha256``: stdlib only. scrypt yields 64 bytes: 32 for
  encryption, 32 for the MAC. The keystream is SHAKE-256(enc_key || nonce) of the
  plaintext's length, XORed with it; the tag is HMAC-SHA256(mac_key, header || nonce
  || ciphertext), checked in constant time before anything is decrypted
  (encrypt-then-MAC). A fresh 16-byte nonce per write.

A wrong passphrase and a tampered file look the same: the tag does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from console.errors import CredentialError

FORMAT_VERSION = 1
SCHEME_AESGCM = "scrypt-aes256gcm"
SCHEME_STDLIB = "scrypt-shake256-hmacsha256"
_KDF_N, _KDF_R, _KDF_P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


class EncryptedFileError(CredentialError):
    """The encrypted credentials file cannot be read or written."""

    title = "Encrypted credentials file"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _have_aesgcm() -> bool:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401
    except ImportError:
        return False
    return True


def default_scheme() -> str:
    """AES-GCM when ``cryptography`` is importable, else the stdlib scheme."""
    return SCHEME_AESGCM if _have_aesgcm() else SCHEME_STDLIB


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    key: bytes = hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=size
    )
    return key


def _header(scheme: str, kdf: dict[str, Any]) -> bytes:
    fields = {"scheme": scheme, "n": kdf["n"], "r": kdf["r"], "p": kdf["p"]}
    salt = str(kdf["salt"]).encode("ascii")
    return json.dumps(fields, sort_keys=True).encode("ascii") + salt


def _keystream_xor(key: bytes, nonce: bytes, data: bytes) -> bytes:
    stream = hashlib.shake_256(key + nonce).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def encrypt(
    plaintext: bytes, passphrase: str, scheme: str | None = None
) -> dict[str, Any]:
    """Encrypt ``plaintext`` into the JSON-ready document described above."""
    scheme = scheme or default_scheme()
    salt = secrets.token_bytes(16)
    kdf = {"name": "scrypt", "n": _KDF_N, "r": _KDF_R, "p": _KDF_P, "salt": _b64(salt)}
    header = _header(scheme, kdf)
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "scheme": scheme}
    doc["kdf"] = kdf
    if scheme == SCHEME_AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = _derive(passphrase, salt, _KDF_N, _KDF_R, _KDF_P, 32)
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext, header)
        doc.update(
            nonce=_b64(nonce), ciphertext=_b64(sealed[:-16]), tag=_b64(sealed[-16:])
        )
    elif scheme == SCHEME_STDLIB:
        keys = _derive(passphrase, salt, _KDF_N, _KDF_R, _KDF_P, 64)
        nonce = secrets.token_bytes(16)
        ciphertext = _keystream_xor(keys[:32], nonce, plaintext)
        tag = hmac.new(keys[32:], header + nonce + ciphertext, hashlib.sha256).digest()
        doc.update(nonce=_b64(nonce), ciphertext=_b64(ciphertext), tag=_b64(tag))
    else:
        raise EncryptedFileError(f"Unknown encryption scheme {scheme!r}.")
    return doc


def decrypt(doc: dict[str, Any], passphrase: str, source: str = "file") -> bytes:
    """Check and decrypt a document from :func:`encrypt`; raise EncryptedFileError."""
    try:
        if doc.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format_version {doc.get('format_version')!r}")
        scheme, kdf = doc["scheme"], doc["kdf"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        salt, nonce = _unb64(kdf["salt"]), _unb64(doc["nonce"])
        ciphertext, tag = _unb64(doc["ciphertext"]), _unb64(doc["tag"])
        header = _header(scheme, kdf)
    except (KeyError, ValueError, TypeError) as exc:
        raise EncryptedFileError(
            f"{source} is not a boop-console encrypted credentials file ({exc}).",
            hint="Move it away and store the credentials again with `creds set`.",
        ) from None
    wrong = EncryptedFileError(
        f"Could not open {source}: wrong passphrase, or the file was altered.",
        hint="Try the passphrase again; nothing was changed.",
    )
    if scheme == SCHEME_AESGCM:
        try:
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            raise EncryptedFileError(
                f"{source} uses AES-GCM, which needs the 'cryptography' package.",
                hint="pip install cryptography, or re-create the file on this host.",
            ) from None
        key = _derive(passphrase, salt, n, r, p, 32)
        try:
            return AESGCM(key).decrypt(nonce, ciphertext + tag, header)
        except InvalidTag:
            raise wrong from None
    if scheme == SCHEME_STDLIB:
        keys = _derive(passphrase, salt, n, r, p, 64)
        expected = hmac.new(keys[32:], header + nonce + ciphertext, hashlib.sha256)
        if not hmac.compare_digest(expected.digest(), tag):
            raise wrong
        return _keystream_xor(keys[:32], nonce, ciphertext)
    raise EncryptedFileError(f"{source}: unknown encryption scheme {scheme!r}.")


class EncryptedFile:
    """A small dict of per-environment entries, stored encrypted at ``path``."""

    def __init__(self, path: Path, scheme: str | None = None) -> None:
        self.path = path
        self.scheme = scheme

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, passphrase: str) -> dict[str, dict[str, Any]]:
        """All entries; an empty dict when the file does not exist yet."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise EncryptedFileError(
                f"Cannot read {self.path}: {exc.strerror}."
            ) from exc
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            raise EncryptedFileError(
                f"{self.path} is not valid JSON.",
                hint="Move it away and store the credentials again with `creds set`.",
            ) from None
        plain = decrypt(doc, passphrase, str(self.path))
        data = json.loads(plain.decode("utf-8"))
        if not isinstance(data, dict):
            raise EncryptedFileError(f"{self.path} holds no credential entries.")
        return data

    def save(self, passphrase: str, entries: dict[str, dict[str, Any]]) -> None:
        """Encrypt and write ``entries`` atomically (temp file, fsync, rename), 0600."""
        plain = json.dumps(entries, sort_keys=True).encode("utf-8")
        doc = encrypt(plain, passphrase, self.scheme)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".creds-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise EncryptedFileError(
                f"Cannot write {self.path}: {exc.strerror}."
            ) from exc
