"""WeChat protocol layer: pure building blocks for the channel adapters.

- ``crypto``: signatures and safe-mode AES (Official Account, Mini Program, WeCom).
- ``xml``: defused parsing of inbound XML; passive-reply and encrypted-envelope builders.
- ``replay``: stale-timestamp and reused-nonce guard (its memory kept by ``bot.accepted_requests``).
- ``callback``: verify + replay-check + decrypt + parse one callback request; seal the reply.
- ``api``: customer-service (OA) and app-message (WeCom) client with a shared token cache.
"""
