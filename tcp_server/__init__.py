"""tcpchat's IRC server: protocol core, state, commands, asyncio transport."""
