"""How the engine cuts a stage into chunks for a Bulk target (issue 16): full Bulk requests of
the target's maxOperations in the middle, small chunks first and last (the first request leaves
early, the last chunk recorded after the target's last answer is short)."""

import pytest

from provisioning.engine.cycle import BULK_RAMP, ramped


@pytest.mark.parametrize("total", [0, 1, 99, 150, 500, 1000, 1799, 1800, 2000, 10_000, 10_001])
def test_every_id_once_in_order_and_no_chunk_above_the_size(total):
    ids = list(range(total))
    chunks = ramped(ids, 1000)
    assert [i for chunk in chunks for i in chunk] == ids
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)


def test_a_large_stage_ramps_up_and_down_around_full_chunks():
    sizes = [len(chunk) for chunk in ramped(list(range(10_000)), 1000)]
    assert sizes[: len(BULK_RAMP)] == list(BULK_RAMP)
    assert sizes[-len(BULK_RAMP) :] == list(BULK_RAMP)[::-1]
    middle = sizes[len(BULK_RAMP) : -len(BULK_RAMP)]
    assert len(middle) == -(-(10_000 - 2 * sum(BULK_RAMP)) // 1000)
    assert max(middle) - min(middle) <= 1 and max(middle) <= 1000


def test_a_small_stage_is_cut_in_tenths_so_progress_moves_and_work_overlaps():
    assert [len(c) for c in ramped(list(range(1000)), 1000)] == [100] * 10
    assert [len(c) for c in ramped(list(range(120)), 1000)] == [25, 25, 25, 25, 20]
    # maxOperations below the ramp: chunks of at most maxOperations.
    assert [len(c) for c in ramped(list(range(2500)), 100)] == [100] * 25
