"""Load generator and benchmark scenarios for tcpchat (``python -m bench all --quick``)."""

import os

# The load comes from one address (127.0.0.1): the server's per-address limit (default 16) and its
# connect throttle are off
# for the servers the benchmarks start.
os.environ.setdefault("TCPCHAT_MAX_CLIENTS_PER_IP", "0")
os.environ.setdefault("TCPCHAT_CONNECT_RATE_PER_IP", "0")
