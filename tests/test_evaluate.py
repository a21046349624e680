import json

import numpy as np
import pytest

from genre.errors import ParameterError
from genre.learn.evaluate import confusion_cells, filter_rows, score, segment_probabilities, track_rows

GENRES = ("blues", "jazz", "rock")


def random_split(seed: int, n_tracks: int = 9, per_track: int = 5):
    rng = np.random.default_rng(seed)
    track = np.repeat(rng.permutation(n_tracks) + 2, per_track)  # ids need not start at 0
    segment = np.tile(np.arange(per_track), n_tracks)
    order = rng.permutation(len(track))  # rows arrive in any order
    track, segment = track[order], segment[order]
    truth = {t: t % len(GENRES) for t in np.unique(track).tolist()}
    y = np.array([truth[t] for t in track.tolist()])
    probs = rng.dirichlet(np.ones(len(GENRES)), size=len(track))
    files = tuple(f"g/file{i:02d}.wav" for i in range(n_tracks + 2))
    return probs, y, track, segment, files


@pytest.mark.parametrize("seed", range(5))
def test_track_vote_is_the_one_score_counts(seed):
    probs, y, track, segment, files = random_split(seed)
    rows = track_rows(probs, y, track, segment, files, GENRES)
    metrics = score(probs, y, track, GENRES)
    confusion = np.zeros((3, 3), int)
    for r in rows:
        confusion[GENRES.index(r["true"]), GENRES.index(r["predicted"])] += 1
    assert confusion.tolist() == metrics["confusion"]
    assert np.mean([r["correct"] for r in rows]) == pytest.approx(metrics["track_accuracy"])
    assert len(rows) == metrics["n_tracks"]


def test_agreeing_counts_segments_whose_own_vote_is_the_prediction():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1],  # track 0: blues wins 2 of 3
                      [0.1, 0.1, 0.8]])  # track 1
    rows = track_rows(probs, np.array([1, 1, 1, 2]), np.array([0, 0, 0, 1]), np.array([2, 0, 1, 0]),
                      ("a.wav", "b.wav"), GENRES)
    a, b = rows
    assert (a["file"], a["true"], a["predicted"], a["correct"]) == ("a.wav", "jazz", "blues", False)
    assert (a["segments"], a["agreeing"]) == (3, 2)
    assert a["probability"] == pytest.approx(1.7 / 3) and a["true_probability"] == pytest.approx(1.1 / 3)
    assert [v["segment"] for v in a["votes"]] == [0, 1, 2]  # in segment order
    assert [v["genre"] for v in a["votes"]] == ["jazz", "blues", "blues"]
    assert a["votes"][0]["probabilities"] == [0.2, 0.7, 0.1] and a["votes"][0]["probability"] == 0.7
    assert segment_probabilities(a).shape == (3, 3)
    assert b["correct"] and b["agreeing"] == 1


def test_rows_are_json_safe_sorted_by_file_and_rounded():
    probs, y, track, segment, files = random_split(0)
    rows = track_rows(probs.astype(np.float32), y, track.astype(np.int32), segment, files, GENRES)
    assert json.loads(json.dumps(rows)) == rows
    assert [r["file"] for r in rows] == sorted(r["file"] for r in rows)
    assert all(len(str(p).split(".")[-1]) <= 4 for r in rows for v in r["votes"] for p in v["probabilities"])


def test_unknown_track_id_is_named_and_empty_input_gives_no_rows():
    rows = track_rows(np.array([[0.2, 0.3, 0.5]]), np.array([2]), np.array([7]), np.array([0]), ("a.wav",), GENRES)
    assert rows[0]["file"] == "track 7"
    assert track_rows(np.zeros((0, 3)), np.zeros(0), np.zeros(0), np.zeros(0), (), GENRES) == []


@pytest.mark.parametrize("probs, n", [(np.ones((2, 2)) / 2, 2), (np.ones((3, 3)) / 3, 2), (np.ones(3) / 3, 1)])
def test_bad_shapes_are_parameter_errors(probs, n):
    with pytest.raises(ParameterError):
        track_rows(probs, np.zeros(n), np.zeros(n), np.zeros(n), ("a",), GENRES)


@pytest.mark.parametrize("misclassified, cell, expected", [
    (False, None, ["a", "b", "c", "d"]),
    (True, None, ["b", "d"]),
    (False, ("jazz", "blues"), ["b"]),
    (False, ("blues", "blues"), ["a"]),
    (True, ("blues", "blues"), []),
    (False, ("rock", "jazz"), []),
])
def test_filter_rows(misclassified, cell, expected):
    rows = [{"file": "a", "true": "blues", "predicted": "blues", "correct": True},
            {"file": "b", "true": "jazz", "predicted": "blues", "correct": False},
            {"file": "c", "true": "jazz", "predicted": "jazz", "correct": True},
            {"file": "d", "true": "rock", "predicted": "blues", "correct": False}]
    assert [r["file"] for r in filter_rows(rows, misclassified=misclassified, cell=cell)] == expected


def test_confusion_cells_count_every_pair_like_score():
    probs, y, track, segment, files = random_split(1)
    rows = track_rows(probs, y, track, segment, files, GENRES)
    cells = confusion_cells(rows, GENRES)
    assert len(cells) == 9 and cells[1] == {"true": "blues", "predicted": "jazz", "count": cells[1]["count"]}
    grid = [[c["count"] for c in cells[i * 3:(i + 1) * 3]] for i in range(3)]
    assert grid == score(probs, y, track, GENRES)["confusion"]
