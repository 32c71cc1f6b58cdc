"""The chat server's end-to-end test: real WebSocket clients against the server as an OS process.

    python3 Tests/chat_test.py PATH/TO/chat-server

1. Clients join rooms; an empty post is refused (the server keeps running).
2. Clients post concurrently, each waiting for the acknowledgement of its post; mid-stream the
   server is killed with SIGKILL.
3. The server restarts on the same directory; new clients read each room's history: every
   acknowledged post is there, once, in sequence order; a new post is acknowledged.
4. SIGTERM: the server stops gracefully and discards the rooms' journals.
"""
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile

import websockets

SERVER = sys.argv[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, directory, port):
        self.directory, self.port = directory, port
        self.log = open(os.path.join(os.path.dirname(directory), f"server-{port}.log"), "ab")
        self.process = subprocess.Popen(
            [SERVER, "--port", str(port), "--directory", directory], stdout=self.log, stderr=self.log)

    async def ready(self):
        for _ in range(300):
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode} while starting")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                await asyncio.sleep(0.1)
        raise SystemExit("the server did not listen within 30 s")


def url(port, room, user):
    return f"ws://127.0.0.1:{port}/rooms/{room}?user={user}"


async def answer(ws, post_id):
    """Reads until this post's ack or refusal; returns the frame."""
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") == post_id and frame["type"] in ("ack", "refused"):
            return frame


async def poster(port, room, user, acknowledged, attempted):
    """Posts until the connection drops; records each acknowledged post as (room, id, seq)."""
    try:
        async with websockets.connect(url(port, room, user)) as ws:
            for i in range(100000):
                post_id = f"{user}-{i}"
                attempted.add(post_id)
                await ws.send(json.dumps({"id": post_id, "text": f"{post_id} says hello"}))
                frame = await answer(ws, post_id)
                assert frame["type"] == "ack", frame
                acknowledged.append((room, post_id, frame["seq"]))
    except (websockets.ConnectionClosed, OSError):
        pass


async def history(port, room, user, quiet=1.5):
    """Every post of the room as the server sends them to a new client, until it goes quiet."""
    posts = []
    async with websockets.connect(url(port, room, user)) as ws:
        while True:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=quiet))
            except asyncio.TimeoutError:
                return posts, ws_closed_ok
            if frame["type"] == "post":
                posts.append(frame)


ws_closed_ok = True


async def main():
    failures = []
    base = tempfile.mkdtemp(prefix="chat-test-")
    directory = os.path.join(base, "rooms")
    port = free_port()

    # 1. A refusal is an answer, not a crash.
    server = Server(directory, port)
    await server.ready()
    async with websockets.connect(url(port, "lobby", "ana")) as ws:
        await ws.send(json.dumps({"id": "empty", "text": "   "}))
        frame = await answer(ws, "empty")
        if frame["type"] != "refused":
            failures.append(f"an empty post was answered {frame}")
        await ws.send(json.dumps({"id": "first", "text": "first post by ana"}))
        frame = await answer(ws, "first")
        if frame != {"type": "ack", "id": "first", "seq": 2}:
            failures.append(f"the first post after a refusal was answered {frame} (expected sequence 2: join, post)")

    # 2. Concurrent posters, then SIGKILL mid-stream.
    acknowledged = [("lobby", "first", 2)]
    attempted = {"first"}
    rooms = {"lobby": ["ana", "bo", "cy"], "kitchen": ["dee", "eli"]}
    tasks = [asyncio.create_task(poster(port, room, user, acknowledged, attempted))
             for room, users in rooms.items() for user in users]
    await asyncio.sleep(2.0 + random.random())
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    await asyncio.gather(*tasks)
    print(f"killed with SIGKILL after {len(acknowledged)} acknowledged posts")
    if len(acknowledged) < 20:
        failures.append(f"only {len(acknowledged)} posts were acknowledged before the kill")

    # 3. Restart: every acknowledged post is in its room's history, once, in order.
    server = Server(directory, port)
    await server.ready()
    for room in rooms:
        posts, _ = await history(port, room, "reader")
        sequences = [p["seq"] for p in posts]
        if sequences != sorted(sequences) or len(set(sequences)) != len(sequences):
            failures.append(f"{room}: history sequences are not strictly increasing")
        texts = [p["text"] for p in posts]
        ids = [t.split(" ")[0] for t in texts]
        if len(set(ids)) != len(ids):
            failures.append(f"{room}: a post appears twice in the history")
        by_id = {t.split(" ")[0]: p["seq"] for t, p in zip(texts, posts)}
        for (r, post_id, seq) in acknowledged:
            if r != room:
                continue
            if post_id not in by_id:
                failures.append(f"{room}: acknowledged post {post_id} (sequence {seq}) is missing after the restart")
            elif by_id[post_id] != seq:
                failures.append(f"{room}: post {post_id} was acknowledged as {seq}, the history has it at {by_id[post_id]}")
        unknown = [i for i in ids if i not in attempted]
        if unknown:
            failures.append(f"{room}: the history holds posts nobody sent: {unknown[:3]}")
        print(f"{room}: {len(posts)} posts in the history after the restart")
    async with websockets.connect(url(port, "lobby", "ana")) as ws:
        await ws.send(json.dumps({"id": "after", "text": "back again"}))
        frame = await answer(ws, "after")
        if frame["type"] != "ack":
            failures.append(f"a post after the restart was answered {frame}")

    # 4. SIGTERM: graceful stop; the rooms' journals are discarded.
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        code = "hung"
    if code != 0:
        failures.append(f"after SIGTERM the server exited with {code}")
    left = [n for n in os.listdir(directory) if n.endswith(".journal")]
    if left:
        failures.append(f"journals left after a graceful stop: {left}")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        print(f"server logs in {base}")
        sys.exit(1)
    print("chat server: every acknowledged post survived SIGKILL; SIGTERM discarded the rooms")


asyncio.run(main())
