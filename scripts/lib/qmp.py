#!/usr/bin/env python3
"""Puts a running QEMU's ivshmem device in and takes it out, over its QMP socket.

The one place the test scripts speak QMP (scripts/hotplug-e2e through scripts/lib/netlab.sh's
netlab_attach and netlab_detach); 'ivshmemd attach' and 'ivshmemd detach' are to replace it. The
sequence is the one docs/guest.md, "When the device comes and goes", describes:

  attach: chardev-add (a socket client of the region's UNIX socket), then device_add of an
          ivshmem-doorbell on that chardev, on a hot-plug root port
  detach: device_del (only a request to the guest), wait for DEVICE_DELETED (the guest let go),
          then chardev-remove (QEMU refuses it while the device exists: "Chardev ... is busy")

Each prints one line of JSON with what it measured, in milliseconds:
  attach -> {"device_add_ms": ..., "device_add_at": EPOCH-SECONDS}
  detach -> {"device_del_to_deleted_ms": ..., "device_del_at": EPOCH-SECONDS}
and exits 1 with the reason on standard error when QEMU refuses a command or the guest does not
let go in time.

Usage:
  qmp.py attach QMP-SOCKET CHARDEV-ID REGION-SOCKET DEVICE-ID BUS VECTORS
  qmp.py detach QMP-SOCKET CHARDEV-ID DEVICE-ID TIMEOUT-SECONDS
"""

import json
import socket
import sys
import time


class QmpError(Exception):
    pass


class Qmp:
    """One QMP connection: greeting, qmp_capabilities, then commands; events are kept in order."""

    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""
        self.events = []
        greeting = self.read()
        if "QMP" not in greeting:
            raise QmpError(f"{path} did not greet as QMP: {greeting}")
        self.command("qmp_capabilities")

    def read(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QmpError("QEMU closed the QMP connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, **arguments):
        request = {"execute": name}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self.read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QmpError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def wait_event(self, name, match, deadline):
        while True:
            for event in self.events:
                if event.get("event") == name and match(event.get("data", {})):
                    self.events.remove(event)
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                reply = self.read()
            except socket.timeout:
                return None
            if "event" in reply:
                self.events.append(reply)

    def close(self):
        self.sock.close()


def attach(qmp_path, chardev, region_socket, device, bus, vectors):
    qmp = Qmp(qmp_path)
    try:
        qmp.command("chardev-add", id=chardev, backend={
            "type": "socket",
            "data": {"addr": {"type": "unix", "data": {"path": region_socket}}, "server": False}})
        at = time.time()
        start = time.monotonic()
        qmp.command("device_add", driver="ivshmem-doorbell", id=device, chardev=chardev, vectors=int(vectors), bus=bus)
        took = (time.monotonic() - start) * 1000
    finally:
        qmp.close()
    print(json.dumps({"device_add_ms": round(took, 1), "device_add_at": at}))


def detach(qmp_path, chardev, device, timeout):
    qmp = Qmp(qmp_path)
    try:
        at = time.time()
        start = time.monotonic()
        qmp.command("device_del", id=device)
        event = qmp.wait_event("DEVICE_DELETED", lambda data: data.get("device") == device, start + float(timeout))
        if event is None:
            raise QmpError(f"no DEVICE_DELETED for {device} within {timeout} s: the guest did not let go of the device")
        took = (time.monotonic() - start) * 1000
        qmp.command("chardev-remove", id=chardev)
    finally:
        qmp.close()
    print(json.dumps({"device_del_to_deleted_ms": round(took, 1), "device_del_at": at}))


def main(argv):
    commands = {"attach": (attach, 6), "detach": (detach, 4)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    function, _ = commands[argv[1]]
    try:
        function(*argv[2:])
    except (QmpError, OSError) as e:
        sys.stderr.write(f"qmp.py {argv[1]}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
