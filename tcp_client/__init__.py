"""The asyncio IRC client session (shared by the CLI and the web gateway) and the terminal UI."""
