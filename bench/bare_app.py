"""The ceiling for bench/webhook.py: Flask under the same gunicorn, no signature, no database.

POST /twilio/inbound answers a fixed TwiML message, so the difference between this and the
real app is what signature checking, parsing, the conversation engine and the database cost.
Served as `gunicorn --pythonpath bench bare_app:app`.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'

app = Flask(__name__)


@app.post("/twilio/inbound")
def inbound() -> Response:
    return Response(TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")
