"""Message history: the store interface and its SQLite and PostgreSQL implementations.

- ``base.py``: ``HistoryStore`` (append with a commit callback, window queries, retention) and
  the value types. Handlers never await: ``append`` and ``fetch`` take callbacks.
- ``groupcommit.py``: rows queued within ``history_commit_interval`` share one transaction; each
  sender's echo (its acknowledgement) is sent from the commit callback, so an echoed message is
  durable. The queue is bounded (an overloaded store answers FAIL instead of growing).
- ``sqlite.py`` (default, ``data_dir/history.db``, WAL, ``synchronous=FULL``, schema version in
  ``PRAGMA user_version``; batches committed by the ``sqlite_writer.py`` child process so the
  writer never competes with the event loop for the GIL) and ``postgres.py`` (``database_url=postgresql://...``, schema version
  in ``tcpchat_schema``, migrations under an advisory lock).
- ``keys.py``: where a message is filed (casefolded channel, or the pair of nicks of a private
  conversation); ``query.py``: CHATHISTORY LATEST/BEFORE/AFTER/AROUND/BETWEEN on any store;
  ``sql.py``: the SQL both stores share; ``factory.py``: settings -> store; ``left.py``: when each
  user last left each channel (a plain client's JOIN replay starts there).

The wire side (CHATHISTORY, replay on JOIN, who may read what) is ``commands/history.py``.
"""
