"""Load generator and benchmark scenarios for tcpchat (``python -m bench all --quick``)."""
