"""The web front ends: the JSON API, the Gradio chat pages, and the guard in front of both.

Imports go one way: ``app.py → web → qa → index``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebConfig:
    """How the web app listens and whom it lets in."""

    host: str = "127.0.0.1"
    port: int = 7860
    api_token: str = ""  # asking needs it when set
    admin_token: str = ""  # uploading needs it; uploads are off when unset
    embed_origins: tuple[str, ...] = ()  # may frame the pages and call the API from a browser
    allowed_hosts: tuple[str, ...] = ()  # Host header names; () = this machine's names for ``host``
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For names the client; () = nobody's
    asks_per_minute: int = 60  # per client address; 0 = no limit
    max_upload_bytes: int = 50 * 1024 * 1024
