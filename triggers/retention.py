"""Retention: conversations idle longer than RETENTION_DAYS are deleted with their backend data and history."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from core.settings import load_settings
from triggers.service import ConversationService

bp = df.Blueprint()
log = logging.getLogger("durable_assistants")


@bp.function_name("retention")
@bp.timer_trigger(schedule="0 30 3 * * *", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def retention(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Every night at 03:30 UTC, delete conversations idle for longer than RETENTION_DAYS."""
    settings = load_settings()
    service = ConversationService(client, settings=settings)
    idle = await asyncio.to_thread(service.store.idle_conversations, timedelta(days=settings.retention_days))
    for conversation_id in idle:
        try:
            await service.delete(conversation_id)
        except Exception:  # one stubborn conversation must not stop the others; the next run retries it
            log.exception("retention could not delete conversation %s", conversation_id)
    log.info("retention deleted %d idle conversations", len(idle))
