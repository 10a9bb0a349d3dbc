"""How to reach a server: the forms of its URL, credentials in the URL, proxies, TLS.

Read once when a ``VLLMModel`` is built (proxies once per URL per session), never per request.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from ..errors import ConfigError, register_secret

__all__ = ["env_proxy", "normalize_api_url", "split_userinfo", "ssl_setting"]


def normalize_api_url(api_url: str) -> tuple[str, str]:
    """``(server root, /v1 base)`` from a URL given with or without ``/v1`` or a slash.

    ``http://h:8000``, ``http://h:8000/``, ``http://h:8000/v1/`` and even
    ``http://h:8000/v1/chat/completions`` all give ``("http://h:8000", "http://h:8000/v1")``.
    """
    url = (api_url or "").strip()
    if "://" not in url:
        raise ConfigError(
            f"api_url {api_url!r} needs a scheme, e.g. http://{url or 'localhost:8000'}/v1",
            key="api_url",
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"api_url {api_url!r} must start with http:// or https://", key="api_url")
    url = url.rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)].rstrip("/")
    return url, url + "/v1"


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user:pass@, user, password)``; user and password are percent-decoded."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit(parts._replace(netloc=host)), user, password


def env_proxy(url: str) -> dict[str, Any]:
    """``proxy=``/``proxy_auth=`` for ``url`` from HTTP(S)_PROXY / NO_PROXY, or nothing.

    The session runs with ``trust_env=False`` because aiohttp's trust_env also reads
    ~/.netrc for the target host, which collides with our Authorization header (a ValueError
    on every request) or sends the netrc password to the server. Proxy credentials come from
    the proxy URL (or a netrc entry for the proxy host); an https:// target goes through a
    CONNECT tunnel, so the proxy never sees the API key.
    """
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy configured for this scheme, or NO_PROXY matches the host
        return {}
    if auth is not None:
        register_secret(auth.password)
        # Back into the proxy URL: aiohttp sends it as Proxy-Authorization, to the proxy only
        # (proxy_auth= is deprecated, and proxy_headers= is used only for CONNECT tunnels).
        proxy = proxy.with_user(auth.login).with_password(auth.password)
    return {"proxy": proxy}


def ssl_setting(verify: bool | str | Path | ssl.SSLContext) -> bool | ssl.SSLContext:
    """aiohttp's ``ssl=`` for ``verify``: as given, or a context loaded from a CA bundle path.

    A bundle is loaded once per version of the file (its mtime and size): every model built
    for the same bundle shares one context, and a replaced bundle is read again.
    """
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    cafile = str(verify)
    try:
        stat = Path(cafile).stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = (-1, -1)  # loading it says what is wrong
    return _ca_bundle_context(cafile, *version)


@functools.lru_cache(maxsize=8)
def _ca_bundle_context(cafile: str, mtime_ns: int, size: int) -> ssl.SSLContext:
    """Loading certificates takes a while; the file's version only keys the cache."""
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load CA bundle {cafile}: {exc}", key="ca_bundle") from exc
