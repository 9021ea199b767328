"""The tcpchat command line (server, gateway, up, connect)."""
