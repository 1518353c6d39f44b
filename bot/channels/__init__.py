"""Channel adapters: where mothers' messages come in and replies go out.

- ``wechat/``: the WeChat protocol layer (crypto, xml, replay, callback, api) and the
  Official Account (``official``) and WeCom (``wecom``) endpoints built on it (``endpoint``,
  ``inbound``, ``late``).
- ``api``: ``POST /api/v1/messages``, the HTTP API for integrations and the terminal chat.
- ``care_group``: the care-group bridge webhook; crises answered only privately.
- ``hotline/``: ``POST /hotline/transcripts``, calls as speech-to-text transcripts from the
  call system; each of the caller's segments is a message, each call one contact.
- ``signed_webhook``: HMAC-signed JSON webhooks (care group with a nonce; hotline without).
- ``stats``: rejection and late-reply counters (``GET /channels/stats``).
- ``routes``: registers the configured channels on the app.
- ``texts``: what mothers read from the channels themselves.
"""
