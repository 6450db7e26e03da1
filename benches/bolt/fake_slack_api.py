"""A fake Slack Web API shared by the apps compared in benches/bolt/README.md.

Every method answers {"ok": true, ...} after LATENCY_MS; chat.postMessage calls are counted,
and GET /count answers {"delivered": N} for `referral-desk bench --replies-from`.
Usage: python fake_slack_api.py PORT [LATENCY_MS]
"""
import asyncio
import sys

from aiohttp import web

delivered = 0
latency = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0


async def method(request: web.Request) -> web.Response:
    global delivered
    await request.read()
    if latency:
        await asyncio.sleep(latency)
    if request.path.endswith("/chat.postMessage"):
        delivered += 1
    return web.json_response(
        {"ok": True, "ts": "1.2", "channel": "D1", "user_id": "UBOT", "bot_id": "BBOT",
         "team_id": "TBENCH", "messages": []}
    )


async def count(_: web.Request) -> web.Response:
    return web.json_response({"delivered": delivered})


app = web.Application()
app.router.add_get("/count", count)
app.router.add_post("/{method:.*}", method)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
