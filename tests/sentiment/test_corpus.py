from jobs.sentiment.base import LABELS
from jobs.sentiment.corpus import build
from jobs.sentiment.dataset import HELDOUT_FILE, TRAIN_FILE, read_labeled


def test_corpus_is_big_balanced_and_the_split_does_not_leak():
    train_labels, train_texts = read_labeled(TRAIN_FILE)
    held_labels, held_texts = read_labeled(HELDOUT_FILE)
    assert len(train_texts) + len(held_texts) >= 1500
    assert len(held_texts) >= 200
    assert not set(train_texts) & set(held_texts)
    for label in LABELS:
        assert held_labels.count(label) >= 50 and train_labels.count(label) >= 300


def test_whole_templates_are_held_out_and_the_build_is_reproducible():
    sources = build.read_sources(build.HERE / "templates.tsv", "template") + build.read_sources(build.HERE / "sentences.tsv", "sentence")
    held = [s for s in sources if s.heldout]
    assert 0.15 < len(held) / len(sources) < 0.35
    splits = build.build()
    assert splits["train"] == [tuple(r) for r in zip(*read_labeled(TRAIN_FILE))]
    assert splits["heldout"] == [tuple(r) for r in zip(*read_labeled(HELDOUT_FILE))]
