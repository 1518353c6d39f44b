"""The stored side of the WeChat / WeCom access_token cache (``api_token`` rows).

One row per API app, shared by every process: replicas and restarts take the stored token while
it lasts instead of each fetching one (WeChat limits fetches a day, and a new Official Account
token ends the previous one). The token is a credential, so it is stored encrypted with the
field cipher, bound to its row's key. The API client (``bot.channels.wechat.api``) decides when
to fetch; this module only reads and writes the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.wechat.api import StoredToken
from storage import queries
from storage.db import Database
from storage.fieldcrypt import FieldCipher
from storage.models import ApiToken

__all__ = ["StoredApiTokens"]


class StoredApiTokens:
    def __init__(self, *, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def load(self, key: str) -> StoredToken | None:
        async with self._db.session() as session:
            row = await queries.stored_api_token(session, key)
        if row is None:
            return None
        return StoredToken(
            value=self._cipher.decrypt(row.value_encrypted, context=_context(key)),
            fetched_at=row.fetched_at.timestamp(),
            expires_at=row.expires_at.timestamp(),
        )

    async def save(self, key: str, token: StoredToken) -> None:
        row = ApiToken(
            key=key,
            value_encrypted=self._cipher.encrypt(token.value, context=_context(key)),
            fetched_at=datetime.fromtimestamp(token.fetched_at, UTC),
            expires_at=datetime.fromtimestamp(token.expires_at, UTC),
        )
        async with self._db.write() as session:
            await queries.store_api_token(session, row)


def _context(key: str) -> str:
    # Bound to its app: a row's value copied onto another app's row does not decrypt.
    return f"api_token:{key}"
