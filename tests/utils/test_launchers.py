"""utils/run.pl and utils/slurm.pl (with a fake sbatch/squeue/sacct/scancel on PATH)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.utils.helpers import UTILS, run_tool

sys.path.insert(0, str(UTILS))
import kaldi_queue


def test_parse_args_and_kaldi_quoting() -> None:
    spec = kaldi_queue.parse_args(
        [
            "--mem",
            "4G",
            "--num-threads=2",
            "JOB=2:5",
            "log/a.JOB.log",
            "cmd",
            "x y",
            'say "hi"',
            "|",
            "wc",
        ],
        "run.pl",
    )
    assert (spec.var, spec.start, spec.end, spec.threads) == ("JOB", 2, 5, 2)
    assert spec.options["mem"] == "4G"
    assert spec.command == 'cmd "x y" \'say "hi"\' | wc'
    assert spec.for_task(3) == ("log/a.3.log", 'cmd "x y" \'say "hi"\' | wc')
    assert spec.log_pattern() == "log/a.*.log"
    single = kaldi_queue.parse_args(["log/b.log", "echo", "JOB"], "run.pl")
    assert single.var is None and single.for_task(1) == ("log/b.log", "echo JOB")
    with pytest.raises(kaldi_queue.UsageError, match="--bogus"):
        kaldi_queue.parse_args(["--bogus", "1", "log", "true"], "run.pl")
    with pytest.raises(kaldi_queue.UsageError, match="must contain JOB"):
        kaldi_queue.parse_args(["JOB=1:2", "log/x.log", "true"], "run.pl")
    with pytest.raises(kaldi_queue.UsageError, match="empty job range"):
        kaldi_queue.parse_args(["JOB=3:1", "log/x.JOB.log", "true"], "run.pl")
    with pytest.raises(kaldi_queue.UsageError, match="integer"):
        kaldi_queue.parse_args(["--max-jobs-run", "two", "log/x.log", "true"], "run.pl")


def test_run_pl_success_and_log_format(tmp_path: Path) -> None:
    p = run_tool(
        "run.pl",
        "JOB=1:3",
        "exp/log/t.JOB.log",
        "echo",
        "task",
        "JOB",
        "|",
        "tr",
        "a-z",
        "A-Z",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    for j in (1, 2, 3):
        lines = (tmp_path / f"exp/log/t.{j}.log").read_text().splitlines()
        assert lines[0] == f"# echo task {j} | tr a-z A-Z"
        assert lines[1].startswith("# Started at ")
        assert f"TASK {j}" in lines
        assert re.fullmatch(r"# Accounting: time=\d+ threads=1", lines[-2])
        assert re.fullmatch(r"# Ended \(code 0\) at .*, elapsed time \d+ seconds", lines[-1])


def test_run_pl_failure_counts(tmp_path: Path) -> None:
    p = run_tool(
        "run.pl",
        "JOB=1:4",
        "log/x.JOB.log",
        "bash",
        "-c",
        "echo out; exit $((JOB % 2))",
        cwd=tmp_path,
    )
    assert p.returncode == 1
    assert "run.pl: 2 / 4 failed, see log/x.*.log" in p.stderr
    assert (tmp_path / "log/x.1.log").read_text().splitlines()[-1].startswith("# Ended (code 1)")
    assert (tmp_path / "log/x.2.log").read_text().splitlines()[-1].startswith("# Ended (code 0)")
    p = run_tool("run.pl", "log/one.log", "false", cwd=tmp_path)
    assert p.returncode == 1 and "job failed, see log/one.log" in p.stderr
    # pipefail: a failing first stage fails the task
    p = run_tool("run.pl", "log/pipe.log", "false", "|", "cat", cwd=tmp_path)
    assert p.returncode == 1


def _max_overlap(tmp_path: Path, n: int) -> int:
    spans = []
    for j in range(1, n + 1):
        a = float((tmp_path / f"start.{j}").read_text())
        b = float((tmp_path / f"end.{j}").read_text())
        spans.append((a, b))
    return max(sum(a <= t < b for a, b in spans) for t, _ in spans)


@pytest.mark.parametrize("limit", [1, 2])
def test_run_pl_parallelism_limit(tmp_path: Path, limit: int) -> None:
    p = run_tool(
        "run.pl",
        "--max-jobs-run",
        str(limit),
        "JOB=1:4",
        "log/p.JOB.log",
        "bash",
        "-c",
        "date +%s.%N > start.JOB; sleep 0.3; date +%s.%N > end.JOB",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert _max_overlap(tmp_path, 4) == limit


def test_run_pl_sigterm_stops_running_tasks(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            str(UTILS / "run.pl"),
            "JOB=1:2",
            "log/s.JOB.log",
            "bash",
            "-c",
            "echo $$ > pid.JOB; exec sleep 60",
        ],
        cwd=tmp_path,
    )
    deadline = time.time() + 20
    while not all((tmp_path / f"pid.{j}").exists() for j in (1, 2)) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    for j in (1, 2):
        lines = (tmp_path / f"log/s.{j}.log").read_text().splitlines()
        assert lines[-3] == f"# Interrupted by signal {int(signal.SIGTERM)}"
        assert lines[-1].startswith("# Ended (code 143)")
        pid = int((tmp_path / f"pid.{j}").read_text())
        deadline = time.time() + 5
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


# ------------------------------------------------------------------------------- fake Slurm

FAKE_SBATCH = r"""#!/usr/bin/env bash
# fake sbatch: records its arguments, runs each array task in the background
echo "$*" >> "$FAKE_SLURM/sbatch.args"
array=; script=
for a in "$@"; do
  case $a in --array=*) array=${a#--array=} ;; -*) ;; *) script=$a ;; esac
done
range=${array%%%*}
for t in $(seq "${range%-*}" "${range#*-}"); do
  if [ "$t" = "${FAKE_SLURM_LOSE:-}" ]; then continue; fi
  SLURM_ARRAY_TASK_ID=$t bash "$script" > /dev/null 2>&1 &
  echo $! >> "$FAKE_SLURM/pids"
done
echo "4242;cluster"
"""
FAKE_SQUEUE = r"""#!/usr/bin/env bash
touch "$FAKE_SLURM/pids"
while read -r p; do
  if kill -0 "$p" 2>/dev/null; then echo "4242_1"; exit 0; fi
done < "$FAKE_SLURM/pids"
"""
FAKE_SACCT = """#!/usr/bin/env bash
echo "4242_${FAKE_SLURM_LOSE:-0}|CANCELLED|0:15"
"""
FAKE_SCANCEL = """#!/usr/bin/env bash
echo "$*" >> "$FAKE_SLURM/scancel.args"
"""


@pytest.fixture
def fake_slurm(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    for name, body in (
        ("sbatch", FAKE_SBATCH),
        ("squeue", FAKE_SQUEUE),
        ("sacct", FAKE_SACCT),
        ("scancel", FAKE_SCANCEL),
    ):
        f = bin_dir / name
        f.write_text(body)
        f.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_SLURM": str(tmp_path),
        "PASE_SLURM_POLL": "0.1",
    }


def test_slurm_pl_submits_array_and_waits(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    p = run_tool(
        "slurm.pl",
        "--mem",
        "4G",
        "--gpu",
        "1",
        "--num-threads",
        "2",
        "--max-jobs-run",
        "2",
        "--time",
        "1:00:00",
        "JOB=1:3",
        "exp/log/x.JOB.log",
        "bash",
        "-c",
        "sleep 0.2; echo hello JOB",
        cwd=tmp_path,
        env=fake_slurm,
    )
    assert p.returncode == 0, p.stderr
    args = (tmp_path / "sbatch.args").read_text()
    for flag in (
        "--export=ALL",
        "--mem=4G",
        "--gres=gpu:1",
        "--cpus-per-task=2",
        "--time=1:00:00",
        "--array=1-3%2",
        "--parsable",
        "--job-name=x",
    ):
        assert flag in args.split(), flag
    for j in (1, 2, 3):
        lines = (tmp_path / f"exp/log/x.{j}.log").read_text().splitlines()
        assert lines[0] == f'# bash -c "sleep 0.2; echo hello {j}"'
        assert f"hello {j}" in lines
        assert lines[-1].startswith("# Ended (code 0)")
        assert re.fullmatch(r"# Accounting: time=\d+ threads=2", lines[-2])


def test_slurm_pl_failures_and_lost_tasks(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    p = run_tool(
        "slurm.pl",
        "JOB=1:3",
        "log/f.JOB.log",
        "bash",
        "-c",
        "exit $((JOB == 2))",
        cwd=tmp_path,
        env=fake_slurm,
    )
    assert p.returncode == 1
    assert "slurm.pl: 1 / 3 failed, see log/f.*.log" in p.stderr
    assert "--mem" not in (tmp_path / "sbatch.args").read_text()
    # a task that never reports (killed by Slurm) is found through squeue and sacct
    env = dict(fake_slurm, FAKE_SLURM_LOSE="3")
    p = run_tool("slurm.pl", "JOB=1:3", "log/l.JOB.log", "true", cwd=tmp_path, env=env)
    assert p.returncode == 1
    assert "task(s) [3]" in p.stderr and "CANCELLED" in p.stderr
    assert "1 / 3 failed" in p.stderr


def test_slurm_pl_config_file(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    conf = tmp_path / "slurm.conf"
    conf.write_text(
        "command sbatch --export=PATH -p cpu\n"
        "option mem=* --mem-per-cpu=$0\n"
        "option gpu=* -p gpu --gres=gpu:$0  # comment\n"
        "default gpu=0\n"
        "option gpu=0\n"
    )
    p = run_tool(
        "slurm.pl",
        "--config",
        str(conf),
        "--mem",
        "2G",
        "log/c.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm,
    )
    assert p.returncode == 0, p.stderr
    args = (tmp_path / "sbatch.args").read_text().split()
    assert args[:3] == ["--export=PATH", "-p", "cpu"] and "--mem-per-cpu=2G" in args
    assert "--gres=gpu:0" not in args
    p = run_tool(
        "slurm.pl",
        "--config",
        str(conf),
        "--time",
        "1:00",
        "log/c.log",
        "true",
        cwd=tmp_path,
        env=fake_slurm,
    )
    assert p.returncode == 1 and "--time is not in the queue config" in p.stderr


def test_slurm_pl_submission_failure(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    bad = tmp_path / "fakebin" / "sbatch"
    bad.write_text("#!/usr/bin/env bash\necho 'sbatch: error: invalid partition' >&2\nexit 1\n")
    p = run_tool("slurm.pl", "log/c.log", "true", cwd=tmp_path, env=fake_slurm)
    assert p.returncode == 1 and "invalid partition" in p.stderr


# Arguments with whitespace *and* shell characters: Kaldi's double (or single) quotes would run
# or expand parts of them; they must reach the command unchanged.
HOSTILE_ARGS = [
    "my corpus; touch M1 $(touch M2) `touch M3`",
    'it\'s "both" $(touch M4) kinds',
    "back\\slash and $HOME",
]


@pytest.mark.parametrize("backend", ["run.pl", "slurm.pl"])
def test_arguments_with_shell_characters_reach_the_command_unchanged(
    tmp_path: Path, fake_slurm: dict[str, str], backend: str
) -> None:
    printer = tmp_path / "printargs.py"
    printer.write_text("import sys\nfor a in sys.argv[1:]:\n    print(repr(a))\n")
    env = fake_slurm if backend == "slurm.pl" else None
    p = run_tool(
        backend, "log/h.log", sys.executable, str(printer), *HOSTILE_ARGS, cwd=tmp_path, env=env
    )
    assert not list(tmp_path.rglob("M[0-9]"))  # nothing was run
    assert p.returncode == 0, p.stderr
    out = (tmp_path / "log/h.log").read_text().splitlines()
    assert [repr(a) for a in HOSTILE_ARGS] == [ln for ln in out if ln.startswith(("'", '"'))]


def test_kaldi_join_keeps_kaldis_quoting_where_it_is_exact() -> None:
    j = kaldi_queue.kaldi_join
    assert j(["a", "\\|", "|", "x y", "it's ok", 'say "hi"']) == (
        'a \\| | "x y" "it\'s ok" \'say "hi"\''
    )
    assert j(["a $(b) c"]) == "'a $(b) c'"


def test_slurm_pl_log_names_with_shell_characters(
    tmp_path: Path, fake_slurm: dict[str, str]
) -> None:
    log = "log dir/x $(touch M5).JOB.log"
    p = run_tool("slurm.pl", "JOB=1:2", log, "echo", "hi", cwd=tmp_path, env=fake_slurm)
    assert p.returncode == 0, p.stderr
    assert not list(tmp_path.rglob("M5"))
    for j in (1, 2):
        assert "hi" in (tmp_path / log.replace("JOB", str(j))).read_text().splitlines()


@pytest.mark.parametrize(
    "word",
    ["plain/path.yaml", "", "x$(touch {m}1)", "a`touch {m}2`b", "it's", 'q"x', "-x;y",
     "sp ace", "sp ace $(touch {m}3)", "tab\there"],
)  # fmt: skip
def test_launcher_word_survives_run_pl(tmp_path: Path, word: str) -> None:
    word = word.format(m=tmp_path / "PWNED")
    script = (
        f'. {UTILS / "launcher_word.sh"}\n{UTILS / "run.pl"} "$1" echo "$(launcher_word "$2")"\n'
    )
    log = tmp_path / "log"
    subprocess.run(["bash", "-c", script, "-", str(log), word], check=True)
    lines = log.read_text().splitlines()
    assert lines[3:-2] == [word]  # between the launcher's header and footer
    assert not list(tmp_path.glob("PWNED*"))
