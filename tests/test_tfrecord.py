"""TFRecord schema, atomic shards, the tf.data reader and corrupted-shard errors."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_lib.dataset import tfrecord


def _examples(n: int, size: int = 24, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % 5
        out.append(
            {
                "image": rng.integers(0, 256, (size, size), dtype=np.uint8),
                "label": label,
                "label_binary": int(label != 0),
                "patient_id": f"P_{i // 2:05d}",
                "abnormality_id": "" if label == 0 else f"P_{i // 2:05d}_LEFT_CC_{i}",
                "source": "cbis-ddsm" if label else "ddsm",
                "crop_index": i % 3,
                "scan_id": f"scan-{i}",
            }
        )
    return out


def test_round_trip_keeps_every_field(tmp_path):
    examples = _examples(7)
    path = tmp_path / "train-00000.tfrecord"
    assert tfrecord.write_shard(path, examples) == 7
    records = list(tfrecord.read_records([path]))
    assert len(records) == 7
    for ex, rec in zip(examples, records, strict=True):
        np.testing.assert_array_equal(rec["image"], ex["image"])
        for key in ("label", "label_binary", "crop_index"):
            assert rec[key] == ex[key]
        for key in ("patient_id", "abnormality_id", "source", "scan_id"):
            assert rec[key] == ex[key]
        assert rec["shard"] == str(path)
    assert tfrecord.check_shards([path]) == {str(path): 7}


def test_write_is_atomic_and_deterministic(tmp_path):
    a, b = tmp_path / "a.tfrecord", tmp_path / "b.tfrecord"
    tfrecord.write_shard(a, _examples(5))
    tfrecord.write_shard(b, _examples(5))
    assert a.read_bytes() == b.read_bytes()

    def failing():
        yield from _examples(2)
        raise RuntimeError("interrupted")

    c = tmp_path / "c.tfrecord"
    with pytest.raises(RuntimeError, match="interrupted"):
        tfrecord.write_shard(c, failing())
    assert not c.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tfrecord", "b.tfrecord"]


def test_bad_records_are_refused(tmp_path):
    ex = _examples(1)[0]
    with pytest.raises(ValueError, match="label_binary"):
        tfrecord.write_shard(tmp_path / "x.tfrecord", [{**ex, "label": 2, "label_binary": 0}])
    with pytest.raises(ValueError, match="source"):
        tfrecord.write_shard(tmp_path / "x.tfrecord", [{**ex, "source": "elsewhere"}])
    with pytest.raises(ValueError, match="uint8"):
        tfrecord.write_shard(tmp_path / "x.tfrecord", [{**ex, "image": np.zeros((4, 4))}])
    with pytest.raises(KeyError, match="scan_id"):
        tfrecord.write_shard(
            tmp_path / "x.tfrecord", [{k: v for k, v in ex.items() if k != "scan_id"}]
        )
    assert not (tmp_path / "x.tfrecord").exists()


def test_make_dataset_batches_labels_and_resizes(tmp_path):
    examples = _examples(10, size=32)
    files = [tmp_path / "s0.tfrecord", tmp_path / "s1.tfrecord"]
    tfrecord.write_shard(files[0], examples[:6])
    tfrecord.write_shard(files[1], examples[6:])

    ds = tfrecord.make_dataset(files, label="label", batch_size=4, shuffle=False, seed=0)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert images.shape == (10, 32, 32, 1) and images.dtype == np.uint8
    # interleave alternates between the two shards; every record appears once
    expected = {(int(e["label"]), e["image"].tobytes()) for e in examples}
    got = {(int(lab), img[..., 0].tobytes()) for lab, img in zip(labels, images, strict=True)}
    assert got == expected

    small = tfrecord.make_dataset(
        files, label="label_binary", batch_size=10, shuffle=True, seed=3, image_size=16
    )
    img, lab = next(iter(small.as_numpy_iterator()))
    assert img.shape == (10, 16, 16, 1) and img.dtype == np.uint8
    assert sorted(lab.tolist()) == sorted(e["label_binary"] for e in examples)
    # area resize of a 32 tile to 16 is the 2x2 block mean
    first = tfrecord.make_dataset(files[:1], batch_size=1, shuffle=False, seed=0, image_size=16)
    tile = next(iter(first.as_numpy_iterator()))[0][0, ..., 0]
    block = examples[0]["image"].reshape(16, 2, 16, 2).mean(axis=(1, 3))
    assert np.abs(tile.astype(float) - block).max() <= 1.0


def test_shuffle_is_seeded_and_repeat_repeats(tmp_path):
    files = [tmp_path / f"s{i}.tfrecord" for i in range(3)]
    for i, f in enumerate(files):
        tfrecord.write_shard(f, _examples(4, seed=i))

    def order(seed):
        ds = tfrecord.make_dataset(files, batch_size=12, shuffle=True, seed=seed)
        return next(iter(ds.as_numpy_iterator()))[0].tobytes()

    assert order(1) == order(1)
    assert order(1) != order(2)
    ds = tfrecord.make_dataset(files, batch_size=5, shuffle=False, seed=0, repeat=True)
    assert len(list(ds.take(7).as_numpy_iterator())) == 7  # 35 > 12 records


def test_corrupted_shard_error_names_the_file(tmp_path):
    good, bad = tmp_path / "good.tfrecord", tmp_path / "bad.tfrecord"
    tfrecord.write_shard(good, _examples(3))
    tfrecord.write_shard(bad, _examples(3))
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(tfrecord.CorruptShardError, match="bad.tfrecord"):
        tfrecord.check_shards([good, bad])

    truncated = tmp_path / "truncated.tfrecord"
    truncated.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(tfrecord.CorruptShardError, match="truncated.tfrecord"):
        list(tfrecord.read_records(truncated))
    with pytest.raises(tfrecord.CorruptShardError, match="truncated.tfrecord"):
        tfrecord.check_shards([good, truncated])
    with pytest.raises(FileNotFoundError, match="missing.tfrecord"):
        tfrecord.check_shards([tmp_path / "missing.tfrecord"])
    with pytest.raises(FileNotFoundError, match="missing.tfrecord"):
        tfrecord.make_dataset([tmp_path / "missing.tfrecord"], batch_size=1, shuffle=False, seed=0)
    with pytest.raises(ValueError, match="label must be"):
        tfrecord.make_dataset([good], label="pathology", batch_size=1, shuffle=False, seed=0)


def test_png_tiles_are_deterministic_and_lossless():
    from mammo_lib.dataset.png import decode_png, encode_png

    rng = np.random.default_rng(3)
    tile = np.clip(rng.normal(120, 40, (31, 29)), 0, 255).astype(np.uint8)
    data = encode_png(tile)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert encode_png(tile) == data == encode_png(tile[..., None])
    np.testing.assert_array_equal(decode_png(data), tile)
    with pytest.raises(ValueError, match=r"2-D uint8 array, got float64 \(31, 29\)"):
        encode_png(tile.astype(float))
