"""``stored_message`` (the relay's fast way to build a history record) gives a real, frozen
``StoredMessage`` equal to the dataclass's own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tcp_server.history.base import StoredMessage, stored_message

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=100)


@settings(max_examples=300, deadline=None)
@given(st.tuples(text, st.floats(allow_nan=False), text, text, text, text, text,
                 st.dictionaries(text, text, max_size=3)))
def test_stored_message_builds_the_same_frozen_record(fields):
    record = stored_message(*fields)
    assert type(record) is StoredMessage
    assert record == StoredMessage(*fields)
    try:
        record.text = "changed"  # type: ignore[misc]
    except AttributeError:  # FrozenInstanceError is one
        pass
    else:
        raise AssertionError("a stored_message record must stay frozen")
