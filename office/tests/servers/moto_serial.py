#!/usr/bin/env python3
"""moto server (DynamoDB + S3) on 127.0.0.1 for the office's store contract, handling one
request at a time.

DynamoDB applies each conditional write, and each transaction, atomically: of several racing
`attribute_not_exists(pk)` writes exactly one passes. moto 5 runs requests on threads with no
isolation between the condition check and the write, so racing writes can all pass (measured
on the contract's `races` group: 2 of 8 racing creates of one inspection "created" it, and a
revision-8 update overwrote revision 9). Serialising the requests gives the store the
isolation DynamoDB promises, so the races test the store's logic rather than moto's.

Usage: python moto_serial.py [PORT]   (0 or absent: a free port). Prints the port on stdout
once listening; exits when stdin closes (the test process ended) or on SIGTERM.
"""
import logging
import sys
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_LOCK = threading.Lock()
_DISPATCH = DomainDispatcherApplication.__call__


def serialised(self, environ, start_response):
    with _LOCK:
        # A WSGI body may be produced lazily: produce it inside the lock.
        return list(_DISPATCH(self, environ, start_response))


DomainDispatcherApplication.__call__ = serialised


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request log lines
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
