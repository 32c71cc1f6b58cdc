#!/usr/bin/env bash
# Builds the chat server and runs its end-to-end test (Python `websockets` from PyPI, in a
# virtual environment under .build/).
set -euo pipefail
cd "$(dirname "$0")"
swift build
if [ ! -x .build/venv/bin/python ]; then
    python3 -m venv .build/venv
    .build/venv/bin/pip install --quiet "websockets>=12"
fi
.build/venv/bin/python Tests/chat_test.py "$(swift build --show-bin-path)/chat-server"
