"""The web gateway: FastAPI app bridging browsers (WebSocket) to the TCP chat server (IRC)."""
