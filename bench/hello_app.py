"""The benchmark's yardstick: a bare Flask app with one "hello" route, served like the console."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
