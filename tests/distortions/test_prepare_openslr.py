"""pase-prepare-openslr-rirs on a fake OpenSLR-26 simulated_rirs_16k tree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pase.bin.prepare_openslr_rirs import RirListError, main, read_rir_list, select_rirs
from pase.distortions import Distortions
from tests.distortions.conftest import SR, decaying_ir, speechlike

ROOM_SIZES = {"smallroom": 4, "mediumroom": 3, "largeroom": 2}


def fake_openslr(root: Path, prefix: str = "simulated_rirs_16k") -> Path:
    """``root/simulated_rirs_16k/{small,medium,large}room/{rir_list, RoomNNN/RoomNNN-000KK.wav}``
    with list lines as distributed: ``--rir-id ID --room-id ROOM PATH``."""
    rng = np.random.default_rng(0)
    data = root / "simulated_rirs_16k"
    for room, n_rooms in ROOM_SIZES.items():
        lines = []
        for r in range(1, n_rooms + 1):
            for k in (2, 1):  # unsorted on purpose
                rel = f"{room}/Room{r:03d}/Room{r:03d}-{k:05d}.wav"
                (data / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(data / rel, decaying_ir(0.2, 5, rng), SR)
                short = room.replace("room", "")
                lines.append(
                    f"--rir-id {short}-Room{r:03d}-{k:05d} --room-id {short}-Room{r:03d} "
                    f"{prefix}/{rel}"
                )
        (data / room / "rir_list").write_text("\n".join(lines) + "\n")
    return data


def test_read_rir_list_strips_the_archive_prefix(tmp_path: Path) -> None:
    data = fake_openslr(tmp_path)
    rirs = read_rir_list(data, "mediumroom")
    assert rirs[:2] == [
        "mediumroom/Room001/Room001-00002.wav",
        "mediumroom/Room001/Room001-00001.wav",
    ]
    (data / "largeroom" / "rir_list").write_text(
        "--rir-id x --room-id y RIRS_NOISES/simulated_rirs/largeroom/Room001/Room001-00001.wav\n"
    )
    assert read_rir_list(data, "largeroom") == ["largeroom/Room001/Room001-00001.wav"]


def test_writes_sorted_relative_irfiles_into_an_existing_cfg(tmp_path: Path) -> None:
    data = fake_openslr(tmp_path)
    existing = tmp_path / "pase+.cfg"
    existing.write_text(json.dumps({"noises_p": 0.4, "reverb_fmt": "npy", "reverb_irfiles": ["x"]}))
    out = tmp_path / "out" / "openslr.cfg"
    rc = main(["--data_root", str(data), "--out_file", str(out), "--existing_cfg", str(existing)])
    assert rc == 0
    cfg = json.loads(out.read_text())
    assert cfg["noises_p"] == 0.4  # other keys kept
    assert cfg["reverb_data_root"] == str(data) and cfg["reverb_fmt"] == "wav"
    assert len(cfg["reverb_irfiles"]) == 2 * sum(ROOM_SIZES.values())
    assert cfg["reverb_irfiles"] == sorted(cfg["reverb_irfiles"])
    assert cfg["reverb_irfiles"][0] == "largeroom/Room001/Room001-00001.wav"
    # the written config drives the reverb distortion directly
    d = Distortions.from_config(dict(cfg, noises_p=0.0, reverb_p=1.0), seed=0)
    assert d.names == ["reverb"] and len(d.transforms[0].bank) == 18
    x = torch.from_numpy(speechlike(2, 0.5))
    assert torch.isfinite(d(x)).all()


def test_room_ratios_and_new_cfg(tmp_path: Path) -> None:
    data = fake_openslr(tmp_path)
    out = tmp_path / "new.cfg"
    args = [
        "--data_root",
        str(data),
        "--out_file",
        str(out),
        "--small_room_ratio",
        "0.5",
        "--large_room_ratio",
        "0",
        "--seed",
        "3",
    ]
    assert main(args) == 0
    cfg = json.loads(out.read_text())
    assert set(cfg) == {"reverb_data_root", "reverb_fmt", "reverb_irfiles"}
    rooms = [p.split("/")[0] for p in cfg["reverb_irfiles"]]
    assert rooms.count("smallroom") == 4 and rooms.count("mediumroom") == 6
    assert "largeroom" not in rooms
    assert main(args) == 0 and json.loads(out.read_text()) == cfg  # seeded


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = fake_openslr(tmp_path)
    out = tmp_path / "o.cfg"
    (data / "smallroom" / "Room001" / "Room001-00001.wav").unlink()
    assert main(["--data_root", str(data), "--out_file", str(out)]) == 1
    err = capsys.readouterr().err
    assert "do not exist" in err and "Room001-00001.wav" in err
    assert not out.exists()
    assert main(["--data_root", str(data), "--out_file", str(out), "--no_check"]) == 0
    (data / "mediumroom" / "rir_list").write_text("--rir-id a --room-id b\n")
    with pytest.raises(RirListError, match=r"mediumroom/rir_list.*line 1"):
        select_rirs(data, {}, check_files=False)
    with pytest.raises(RirListError, match="does not exist"):
        select_rirs(tmp_path / "nowhere", {})
    bad = tmp_path / "bad.cfg"
    bad.write_text(json.dumps({"reverb_pp": 1}))
    assert (
        main(
            [
                "--data_root",
                str(data),
                "--out_file",
                str(out),
                "--existing_cfg",
                str(bad),
                "--medium_room_ratio",
                "0",
            ]
        )
        == 1
    )
    assert "'reverb_pp'" in capsys.readouterr().err
