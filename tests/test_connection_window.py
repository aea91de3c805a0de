"""Relay windows map onto page-based backends in one call, for any offset."""

import pytest

from mlgraph.graph.connection import Window, connection, decode_cursor, encode_cursor
from mlgraph.graph.errors import UserInputError


@pytest.mark.parametrize("offset", range(0, 60))
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10, 50])
def test_one_backend_page_holds_the_whole_window(offset: int, limit: int) -> None:
    number, size, skip = Window(offset, limit).page()
    first_item = (number - 1) * size + skip
    assert first_item == offset
    assert skip + limit <= size  # the window never spills past the page fetched


def test_cursors_round_trip_and_reject_garbage() -> None:
    assert decode_cursor(encode_cursor(41)) == 41
    for bad in ["", "!!!", encode_cursor(3).upper(), "b2Zmc2V0Oi0x"]:  # last is offset:-1
        with pytest.raises(UserInputError):
            decode_cursor(bad)


def test_window_bounds() -> None:
    assert Window.from_args(None, None, default=20, maximum=100) == Window(0, 20)
    assert Window.from_args(5, encode_cursor(9), default=20, maximum=100) == Window(10, 5)
    with pytest.raises(UserInputError):
        Window.from_args(101, None, default=20, maximum=100)
    with pytest.raises(UserInputError):
        Window.from_args(-1, None, default=20, maximum=100)


def test_page_info_knows_the_end() -> None:
    page = connection(["a", "b"], Window(8, 2), total=10)
    assert not page.page_info.has_next_page and page.page_info.has_previous_page
    assert decode_cursor(page.page_info.end_cursor) == 9
    assert connection(["a", "b"], Window(0, 2), total=10).page_info.has_next_page
