#!/usr/bin/env python3
"""A small QMP client for the end-to-end scripts (scripts/migrate-e2e): talks to one QEMU's QMP
socket, runs one request and prints its answer as JSON. The device itself is put in and taken out
with the product's own 'ivshmemd attach'/'ivshmemd detach' (netlab_attach, netlab_detach); this
drives what only the tests do (migrate, quit, query).

    qmp.py SOCKET execute COMMAND [ARGUMENTS-JSON]   run COMMAND, print its "return" value
    qmp.py SOCKET migrate URI [--timeout S]          migrate, wait until it completes or fails,
                                                     print the last query-migrate (times in ms)
    qmp.py SOCKET wait-status STATUS [--timeout S]   wait until query-status says STATUS
    qmp.py SOCKET pid                                print QEMU's process id (SO_PEERCRED)

Exit status: 0 done; 1 QEMU answered with an error, the migration failed or the time ran out
(the reason on standard error); 2 usage.
"""
import json
import socket
import struct
import sys
import time


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as e:
            raise QmpError(f"cannot connect to the QMP socket {path}: {e.strerror}")
        self.buf = b""
        self.events = []
        self.path = path
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"{path} did not greet like QMP: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QmpError(f"{self.path}: no answer in time")
            if not chunk:
                raise QmpError(f"{self.path}: QEMU closed the QMP connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, arguments=None):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            answer = self._read()
            if "event" in answer:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise QmpError(f"{command}: {answer['error'].get('desc', answer['error'])}")
            return answer.get("return")

    def pid(self):
        creds = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[0]


def option(args, name, default):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return float(value)
    return default


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, action, args = argv[1], argv[2], argv[3:]
    timeout = option(args, "--timeout", 120.0)
    qmp = Qmp(path)
    if action == "execute" and 1 <= len(args) <= 2:
        result = qmp.execute(args[0], json.loads(args[1]) if len(args) == 2 else None)
        print(json.dumps(result))
    elif action == "migrate" and len(args) == 1:
        qmp.execute("migrate", {"uri": args[0]})
        deadline = time.monotonic() + timeout
        while True:
            state = qmp.execute("query-migrate")
            status = state.get("status")
            if status in ("completed", "failed", "cancelled"):
                print(json.dumps(state))
                if status != "completed":
                    raise QmpError(f"migration {status}: {state.get('error-desc', '')}")
                break
            if time.monotonic() > deadline:
                qmp.execute("migrate_cancel")
                raise QmpError(f"migration not completed within {timeout:g} s (status {status}); cancelled")
            time.sleep(0.1)
    elif action == "wait-status" and len(args) == 1:
        deadline = time.monotonic() + timeout
        while (status := qmp.execute("query-status").get("status")) != args[0]:
            if time.monotonic() > deadline:
                raise QmpError(f"status still {status} after {timeout:g} s, not {args[0]}")
            time.sleep(0.1)
        print(json.dumps({"status": status}))
    elif action == "pid" and not args:
        print(qmp.pid())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except QmpError as e:
        print(f"qmp.py: {e}", file=sys.stderr)
        sys.exit(1)
