"""A TCP proxy on 127.0.0.1 in front of the database that can stop forwarding: a real frozen network path
(connections stay open, nothing gets through either way)."""

from __future__ import annotations

import select
import socket
import threading


class FreezableProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        while not self.closed.is_set():
            if self.frozen.is_set():  # hold everything: no byte in either direction, nothing closed
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
                peers[sock].sendall(data)

    def close(self) -> None:
        self.closed.set()
        self.server.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
