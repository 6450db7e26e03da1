"""The baseline of benches/bolt/README.md: a Bolt for Python (async) app that answers every
direct message with one chat.postMessage, and does nothing else (no classification, no log).
Usage: SLACK_API_URL=http://127.0.0.1:PORT/ python bolt_app.py PORT
"""
import os
import sys

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

client = AsyncWebClient(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"])
app = AsyncApp(
    signing_secret="bench-signing-secret",  # the bench's (src/cli/bench/mod.rs)
    client=client,  # its token is checked once, with auth.test, on the fake API
)


@app.event("message")
async def answer(event, say):
    await say(text="Anna Data can help you with Power BI.", channel=event["channel"])


app.start(port=int(sys.argv[1]), path="/slack/events")
