"""Async BOOP client: REST over httpx (:mod:`.client`) and the vendor WebSocket
(:mod:`.stream`). Errors are in :mod:`.errors`, typed results and events in
:mod:`.models`. See docs/client.md."""
