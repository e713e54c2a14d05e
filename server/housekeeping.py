"""Housekeeping: what accumulates in the database and the repository is removed, at start-up and periodically.

- Database (``purge``): sessions ended or expired, and tokens expired or revoked, more than PURGE_AFTER_DAYS ago
  (kept that long so a person's list of tokens still shows why one stopped working); sign-in failure counts
  nobody added to for two SIGNIN_WINDOW_MINUTES and with no wait running. `rulecraft serve` purges once at start;
  then each worker purges every PURGE_MINUTES, after sending the response of the request that found it due (no
  request waits for it). The audit log is never purged: it is the record.
- Repository: objects that failed saves wrote but never referenced are pruned by `rulecraft serve` at start, after
  recovery, under the store's writer lock (``GitStore.prune_unreachable``), so never during a save.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from flask import Flask, current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from .db import begin_write
from .models import ApiToken, SignInSession, SignInThrottle, utcnow

log = logging.getLogger("rulecraft.housekeeping")


@dataclass
class Purged:
    sessions: int
    tokens: int
    sign_in_failures: int

    def __str__(self) -> str:
        return (f"{self.sessions} old session(s), {self.tokens} expired or revoked token(s), "
                f"{self.sign_in_failures} old sign-in failure count(s)")


def purge(db: Session, config: dict) -> Purged:
    """Remove what is past keeping (see the module docstring), in one transaction."""
    now = utcnow()
    keep = now - timedelta(days=config["PURGE_AFTER_DAYS"])
    stale = now - 2 * timedelta(minutes=config["SIGNIN_WINDOW_MINUTES"])
    begin_write(db)
    sessions = db.execute(delete(SignInSession).where(
        or_(SignInSession.expires_at < keep, SignInSession.ended_at < keep))).rowcount
    tokens = db.execute(delete(ApiToken).where(or_(ApiToken.expires_at < keep, ApiToken.revoked_at < keep))).rowcount
    # Rows an attempt holds are skipped (PostgreSQL), so this never waits for, or deadlocks with, a sign-in.
    failures = db.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(
        select(SignInThrottle.key).where(SignInThrottle.last_at < stale, SignInThrottle.next_at < now)
        .with_for_update(skip_locked=True)))).rowcount
    db.commit()
    return Purged(sessions, tokens, failures)


# ---- periodically, in each worker --------------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    app.extensions["rulecraft.next_purge"] = time.monotonic() + 60 * app.config["PURGE_MINUTES"]
    app.after_request(_maybe_purge)


def _maybe_purge(response):
    app = current_app._get_current_object()
    now = time.monotonic()
    if now >= app.extensions["rulecraft.next_purge"]:
        app.extensions["rulecraft.next_purge"] = now + 60 * app.config["PURGE_MINUTES"]
        response.call_on_close(partial(purge_quietly, app))
    return response


def purge_quietly(app: Flask) -> Purged | None:
    """``purge`` with the app's database; a failure is logged (the next interval tries again), never raised."""
    try:
        with app.extensions["rulecraft.sessions"]() as db:
            purged = purge(db, app.config)
        log.info("purged %s", purged)
        return purged
    except Exception:  # noqa: BLE001 - housekeeping must never break a request; the log has the cause
        log.warning("could not purge old sessions, tokens and sign-in failures", exc_info=True)
        return None
