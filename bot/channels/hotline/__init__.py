"""The hotline (关爱热线): calls reach Careline as speech-to-text transcripts pushed by the call
system to ``POST /hotline/transcripts``.

- ``transcript``: the body, validated (one call, its segments).
- ``her_words``: which segments are the caller's words (IVR prompts removed, wrong speaker
  labels survived).
- ``calls``: one call through the pipeline: each of her segments becomes a message (the one
  path of the webhook and the import).
- ``endpoint``: the signed webhook.
"""
