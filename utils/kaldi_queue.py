"""Kaldi-style job launchers behind ``utils/run.pl`` and ``utils/slurm.pl`` (stdlib only).

Command line (Kaldi's)::

    run.pl   [options] [JOB=1:N] <log-file> <command> [<args>...]
    slurm.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

Options: ``--mem 4G``, ``--gpu N``, ``--num-threads N``, ``--max-jobs-run K``, ``--time T``,
``--config FILE`` (slurm.pl: option-to-sbatch mapping in Kaldi's ``conf/slurm.conf`` format;
run.pl accepts and ignores it, like Kaldi's). Any ``VAR=a:b`` range works (``JOB=1:4``,
``TASK=2:3``); every occurrence of ``VAR`` in the log name and the command is replaced by the
task number. Arguments are joined into one shell command with Kaldi's quoting: an argument
without whitespace is used as is (so ``\\|`` builds a pipe; quote such a word yourself, e.g.
with ``shlex.quote``, when it holds a path with shell characters), one with whitespace is
double-quoted, so a whole command line passed as one argument is *not* split (write
``bash -c "a; b"``). Where Kaldi's double (or single) quotes would not give the argument back
unchanged (it holds ``$``, a backtick, ``\\`` or ``"``), it is quoted exactly with
``shlex.quote`` instead: nothing in it is expanded or run. Commands run under
``bash -o pipefail -c``.

Each log gets a header (``# <command>``, ``# Started at <date>``) and a footer (``# Accounting:
time=<s> threads=<n>``, ``# Ended (code <rc>) at <date>, elapsed time <s> seconds``). The launcher
exits 0 when every task succeeded, else 1 with ``<prog>: k / N failed, see <log with * for VAR>``.

run.pl runs tasks locally, at most ``--max-jobs-run`` at a time (default: the CPU count).
slurm.pl submits one Slurm array job (``sbatch --array=a-b%K``) running a generated script in
``<log-dir>/q/``, waits for each task's exit-code file, watching ``squeue`` for tasks that vanish
without one (reported with ``sacct``), and cancels the job (``scancel``) when interrupted. Poll
interval: ``$PASE_SLURM_POLL`` seconds (default 10).
"""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

OPTIONS = ("mem", "gpu", "num_threads", "max_jobs_run", "time", "config")
RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")


class UsageError(ValueError):
    """Bad launcher command line."""


@dataclass
class Spec:
    """A parsed launcher command line."""

    prog: str
    log: str
    command: str
    var: str | None = None
    start: int = 1
    end: int = 1
    options: dict[str, str] = field(default_factory=dict)

    @property
    def tasks(self) -> list[int]:
        return list(range(self.start, self.end + 1))

    def for_task(self, value: str | int) -> tuple[str, str]:
        """(log path, command) with the range variable replaced by ``value``."""
        if self.var is None:
            return self.log, self.command
        return self.log.replace(self.var, str(value)), self.command.replace(self.var, str(value))

    def log_pattern(self) -> str:
        return self.log if self.var is None else self.log.replace(self.var, "*")

    @property
    def threads(self) -> int:
        return int(self.options.get("num_threads", "1"))


def kaldi_join(args: list[str]) -> str:
    """Join arguments as Kaldi's run.pl does: no whitespace -> as is; else double-quoted when
    that gives the argument back unchanged, otherwise quoted exactly (``shlex.quote``: single
    quotes, as Kaldi does for an argument with a double quote)."""
    out = []
    for a in args:
        if a and not re.search(r"\s", a):
            out.append(a)
        elif not re.search(r'["$`\\]', a):
            out.append(f'"{a}"')
        else:
            out.append(shlex.quote(a))
    return " ".join(out)


def parse_args(argv: list[str], prog: str) -> Spec:
    """Parse ``[options] [VAR=a:b] <log> <command...>``."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name, eq, value = argv[i][2:].partition("=")
        key = name.replace("-", "_")
        if key not in OPTIONS:
            raise UsageError(
                f"{prog}: unknown option --{name} (known: --mem --gpu --num-threads "
                "--max-jobs-run --time --config)"
            )
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError(f"{prog}: option --{name} needs a value")
            value = argv[i + 1]
            i += 1
        opts[key] = value
        i += 1
    for key in ("gpu", "num_threads", "max_jobs_run"):
        if key in opts and not re.fullmatch(r"-?\d+", opts[key]):
            raise UsageError(
                f"{prog}: --{key.replace('_', '-')} expects an integer, got {opts[key]!r}"
            )
    var, start, end = None, 1, 1
    if i < len(argv) and (m := RANGE.match(argv[i])):
        var, start = m.group(1), int(m.group(2))
        end = int(m.group(3)) if m.group(3) is not None else start
        if end < start:
            raise UsageError(f"{prog}: empty job range {argv[i]}")
        i += 1
    elif i < len(argv) and re.match(r"^[A-Za-z_]\w*=", argv[i]):
        raise UsageError(f"{prog}: bad job range {argv[i]!r} (expected e.g. JOB=1:4)")
    if len(argv) - i < 2:
        raise UsageError(
            f"usage: {prog} [options] [JOB=1:N] <log-file> <command> [args...]\n"
            "  e.g. " + prog + " JOB=1:4 exp/log/extract.JOB.log pase-extract ... JOB ..."
        )
    log = argv[i]
    command = kaldi_join(argv[i + 1 :])
    if var is not None and var not in log and end > start:
        raise UsageError(
            f"{prog}: the log name {log} must contain {var} for a {end - start + 1}"
            " task range (tasks would overwrite each other's log)"
        )
    return Spec(prog, log, command, var, start, end, opts)


def _now() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


def header(command: str) -> str:
    return f"# {command}\n# Started at {_now()}\n#\n"


def footer(rc: int, elapsed: float, threads: int) -> str:
    t = round(elapsed)
    return (
        f"# Accounting: time={t} threads={threads}\n"
        f"# Ended (code {rc}) at {_now()}, elapsed time {t} seconds\n"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # Linux: the task gets SIGTERM if the launcher is killed (even with SIGKILL).
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _summary(spec: Spec, failed: list[int]) -> int:
    if not failed:
        return 0
    if spec.var is None or spec.start == spec.end:
        log, _ = spec.for_task(spec.start)
        print(f"{spec.prog}: job failed, see {log}", file=sys.stderr)
    else:
        n = spec.end - spec.start + 1
        print(f"{spec.prog}: {len(failed)} / {n} failed, see {spec.log_pattern()}", file=sys.stderr)
    return 1


def run_local(spec: Spec) -> int:
    """Run every task locally, at most ``--max-jobs-run`` (default CPU count) at a time."""
    limit = int(spec.options.get("max_jobs_run", "-1"))
    if limit <= 0:
        limit = os.cpu_count() or 1
    running: dict[int, tuple[subprocess.Popen, TextIO, float]] = {}
    failed: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        for proc, _, _ in running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, fh, t0 in running.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            rc = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            fh.write(
                f"# Interrupted by signal {signum}\n" + footer(rc, time.time() - t0, spec.threads)
            )
            fh.close()
        print(f"{spec.prog}: interrupted, {len(running)} running task(s) stopped", file=sys.stderr)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def reap() -> None:
        for task, (proc, fh, t0) in list(running.items()):
            rc = proc.poll()
            if rc is None:
                continue
            fh.write(footer(rc, time.time() - t0, spec.threads))
            fh.close()
            del running[task]
            if rc != 0:
                failed.append(task)

    for task in spec.tasks:
        while len(running) >= limit:
            reap()
            if len(running) >= limit:
                time.sleep(0.02)
        log, command = spec.for_task(task)
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        fh = open(log, "w", encoding="utf-8")  # closed in reap()
        fh.write(header(command))
        fh.flush()
        proc = subprocess.Popen(
            ["bash", "-o", "pipefail", "-c", command],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        running[task] = (proc, fh, time.time())
    while running:
        reap()
        if running:
            time.sleep(0.02)
    return _summary(spec, sorted(failed))


# ------------------------------------------------------------------------------------------ slurm

DEFAULT_SLURM_CONFIG = """\
command sbatch --export=ALL
option time=* --time=$0
option mem=* --mem=$0
option mem=0
option num_threads=* --cpus-per-task=$0
option num_threads=1
option gpu=* --gres=gpu:$0
option gpu=0
"""


@dataclass
class SlurmConfig:
    """Kaldi's queue config format: ``command <sbatch ...>``, ``option <name>=<value|*> <flags,
    $0 = value>``, ``default <name>=<value>``."""

    command: list[str]
    options: dict[str, dict[str, list[str]]]
    defaults: dict[str, str]

    @classmethod
    def parse(cls, text: str, where: str = "<default>") -> SlurmConfig:
        command: list[str] = []
        options: dict[str, dict[str, list[str]]] = {}
        defaults: dict[str, str] = {}
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            kind, _, rest = line.partition(" ")
            rest = rest.strip()
            if kind == "command":
                command = shlex.split(rest)
            elif kind in ("option", "default"):
                spec, _, flags = rest.partition(" ")
                name, eq, value = spec.partition("=")
                if not eq:
                    raise UsageError(f"{where}:{n}: expected '{kind} name=value ...': {raw!r}")
                name = name.replace("-", "_")
                if kind == "default":
                    defaults[name] = value
                else:
                    options.setdefault(name, {})[value] = shlex.split(flags)
            else:
                raise UsageError(f"{where}:{n}: unknown line {raw!r}")
        if not command:
            raise UsageError(f"{where}: no 'command' line")
        return cls(command, options, defaults)

    def sbatch_args(self, opts: dict[str, str], prog: str) -> list[str]:
        values = dict(self.defaults)
        values.update({k: v for k, v in opts.items() if k not in ("config", "max_jobs_run")})
        out = list(self.command)
        for name, value in values.items():
            table = self.options.get(name)
            if table is None:
                raise UsageError(
                    f"{prog}: option --{name.replace('_', '-')} is not in the "
                    f"queue config (add 'option {name}=* ...')"
                )
            flags = table.get(value, table.get("*"))
            if flags is None:
                raise UsageError(f"{prog}: no rule for --{name.replace('_', '-')} {value}")
            out += [f.replace("$0", value) for f in flags]
        return out


def _task_script(spec: Spec, qdir: Path, base: str) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# generated by slurm.pl: one Slurm array task",
        f"cd {shlex.quote(os.getcwd())}",
        "task=${SLURM_ARRAY_TASK_ID:-" + str(spec.start) + "}",
        'case "$task" in',
    ]
    for task in spec.tasks:
        log, command = spec.for_task(task)
        lines.append(f"  {task}) log={shlex.quote(log)}; cmd={shlex.quote(command)} ;;")
    lines += [
        '  *) echo "slurm.pl: unexpected task $task" >&2; exit 1 ;;',
        "esac",
        'mkdir -p "$(dirname "$log")"',
        '{ printf "# %s\\n# Started at %s\\n#\\n" "$cmd" "$(date)"; } > "$log"',
        "t0=$(date +%s)",
        'bash -o pipefail -c "$cmd" >> "$log" 2>&1',
        "rc=$?",
        "t=$(( $(date +%s) - t0 ))",
        f'printf "# Accounting: time=%s threads={spec.threads}\\n'
        '# Ended (code %s) at %s, elapsed time %s seconds\\n" '
        '"$t" "$rc" "$(date)" "$t" >> "$log"',
        "done=" + shlex.quote(f"{qdir}/done.{base}.") + "$task",
        'echo "$rc" > "$done.tmp" && mv "$done.tmp" "$done"',
        'exit "$rc"',
    ]
    return "\n".join(lines) + "\n"


def _query(cmd: list[str]) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def run_slurm(spec: Spec) -> int:
    """Submit the tasks as one Slurm array job and wait for all of them."""
    cfg_path = spec.options.get("config")
    if cfg_path:
        try:
            text = Path(cfg_path).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{spec.prog}: cannot read --config {cfg_path}: {e}") from e
        cfg = SlurmConfig.parse(text, cfg_path)
    else:
        cfg = SlurmConfig.parse(DEFAULT_SLURM_CONFIG)
    sbatch = cfg.sbatch_args(spec.options, spec.prog)
    logdir = Path(spec.log).parent
    base = Path(spec.log).name
    if spec.var:
        base = base.replace("." + spec.var, "").replace(spec.var, "")
    base = re.sub(r"\.log$", "", base) or "job"
    qdir = logdir / "q"
    qdir.mkdir(parents=True, exist_ok=True)
    for old in qdir.glob(f"done.{base}.*"):
        old.unlink()
    script = qdir / f"{base}.sh"
    script.write_text(_task_script(spec, qdir.resolve(), base), encoding="utf-8")
    script.chmod(0o755)
    array = f"{spec.start}-{spec.end}"
    if int(spec.options.get("max_jobs_run", "0")) > 0:
        array += f"%{spec.options['max_jobs_run']}"
    cmd = [
        *sbatch,
        "--parsable",
        f"--job-name={base}",
        f"--array={array}",
        f"--output={qdir}/{base}-%a.out",
        str(script),
    ]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:
        print(f"{spec.prog}: cannot run {cmd[0]}: {e}", file=sys.stderr)
        return 1
    if p.returncode != 0 or not p.stdout.strip():
        print(
            f"{spec.prog}: submission failed ({' '.join(cmd)}): {p.stderr.strip()}", file=sys.stderr
        )
        return 1
    job = p.stdout.strip().splitlines()[-1].split(";")[0]

    def cancel(signum: int, _frame: object) -> None:
        subprocess.run(["scancel", job], check=False, capture_output=True)
        print(f"{spec.prog}: interrupted, cancelled Slurm job {job}", file=sys.stderr)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, cancel)
    signal.signal(signal.SIGINT, cancel)
    poll = float(os.environ.get("PASE_SLURM_POLL", "10"))
    done = {t: qdir / f"done.{base}.{t}" for t in spec.tasks}
    gone_once = False
    while True:
        if all(f.exists() for f in done.values()):
            break
        time.sleep(poll)
        queued = _query(["squeue", "-h", "-j", job, "-o", "%i"])
        if queued is not None and not queued.strip():
            # Not in the queue any more: allow one more poll for slow shared file systems.
            if gone_once:
                break
            gone_once = True
    failed: list[int] = []
    lost: list[int] = []
    for t, f in done.items():
        if not f.exists():
            lost.append(t)
            continue
        try:
            rc = int(f.read_text().strip() or "1")
        except ValueError:
            rc = 1
        if rc != 0:
            failed.append(t)
    if lost:
        states = _query(["sacct", "-n", "-P", "-j", job, "-o", "JobID,State,ExitCode"]) or ""
        print(
            f"{spec.prog}: task(s) {lost} of Slurm job {job} ended without an exit code "
            f"(killed, cancelled or out of time?). sacct says:\n{states.strip()}",
            file=sys.stderr,
        )
    return _summary(spec, sorted(failed + lost))


def main(argv: list[str] | None = None, backend: str = "run") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "run.pl" if backend == "run" else "slurm.pl"
    try:
        spec = parse_args(argv, prog)
        return run_local(spec) if backend == "run" else run_slurm(spec)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 1
