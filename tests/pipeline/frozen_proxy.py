"""Frozen network paths for the connection tests, on 127.0.0.1 in front of a real database server.

- :class:`SilentEndpoint` accepts TCP connections and never sends a byte (a server that never greets).
- :class:`FreezableProxy` forwards to the server until frozen: then the connections stay open and nothing gets
  through either way. ``freeze()`` freezes every connection, later ones too (a path that is gone);
  ``freeze_existing()`` only the connections open now (one connection's NAT entry lost, a middlebox that dropped
  it), while new ones pass; ``freeze_on=b"..."`` freezes everything when a client sends those bytes, before they
  reach the server (a deterministic moment mid-session, e.g. the first query naming a schema).
"""

from __future__ import annotations

import select
import socket
import threading
import time


class SilentEndpoint:
    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.first_accepted_at: float | None = None  # time.monotonic() of the first connection
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.server.accept()[0])
            except OSError:
                return
            self.first_accepted_at = self.first_accepted_at or time.monotonic()

    def close(self) -> None:
        self.server.close()
        for connection in self.accepted:
            connection.close()


class FreezableProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", freeze_on: bytes | None = None):
        self.target = (target_host, target_port)
        self.freeze_on = freeze_on
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.frozen = threading.Event()
        self.frozen_at: float | None = None  # time.monotonic() of freeze()
        self.closed = threading.Event()
        self.connections = 0  # accepted so far
        self._frozen_pairs: set[int] = set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen_at = self.frozen_at or time.monotonic()
        self.frozen.set()

    def freeze_existing(self) -> None:
        self._frozen_pairs.update(range(len(self._pairs)))

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._pairs.append((client, upstream))
            self.connections += 1
            threading.Thread(target=self._forward, args=(len(self._pairs) - 1,), daemon=True).start()

    def _forward(self, index: int) -> None:
        client, upstream = self._pairs[index]
        peers = {client: upstream, upstream: client}
        while not self.closed.is_set():
            if self.frozen.is_set() or index in self._frozen_pairs:  # hold everything: no byte, nothing closed
                self.closed.wait(0.1)
                continue
            readable, _, _ = select.select(list(peers), [], [], 0.1)
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    client.close()
                    upstream.close()
                    return
                if sock is client and self.freeze_on is not None and self.freeze_on in data:
                    self.freeze()
                    break
                peers[sock].sendall(data)

    def close(self) -> None:
        self.closed.set()
        self.server.close()
        for pair in self._pairs:
            for sock in pair:
                try:
                    sock.close()
                except OSError:
                    pass
