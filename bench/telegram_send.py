"""Rough cost of one Telegram sendMessage: hub's shared Bot vs a fresh Bot per call.

Run from the project root: `python -m bench.telegram_send` (uses the tests' fake Bot API).
"""

from __future__ import annotations

import asyncio
import time

import telegram

from integrations import telegram_bot
from tests.auxil.fake_telegram import fake_telegram

TOKEN, ROUNDS = "123:ABC", 200


def main() -> None:
    with fake_telegram() as fake:

        async def send(bot: telegram.Bot) -> telegram.Message:
            return await bot.send_message(chat_id=42, text="hi")

        async def fresh() -> None:
            async with telegram.Bot(TOKEN, base_url=f"{fake.url}/bot") as bot:
                await send(bot)

        telegram_bot.call(TOKEN, fake.url, "warm-up", send)
        started = time.perf_counter()
        for _ in range(ROUNDS):
            telegram_bot.call(TOKEN, fake.url, "bench", send)
        shared = (time.perf_counter() - started) / ROUNDS
        started = time.perf_counter()
        for _ in range(ROUNDS):
            asyncio.run(fresh())
        per_call = (time.perf_counter() - started) / ROUNDS
        telegram_bot.close_all()
    print(f"shared Bot on hub's loop: {shared * 1000:.2f} ms/message")
    print(f"asyncio.run + fresh Bot:  {per_call * 1000:.2f} ms/message (plus a getMe each)")


if __name__ == "__main__":
    main()
