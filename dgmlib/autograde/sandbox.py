"""Start a kernel for one submission in a sandbox: ``python dgmlib/autograde/sandbox.py [options] -- KERNEL ARGV``.

It imports only the standard library and runs by its path (``-m`` would import dgmlib, and torch, first).

The grading kernel is started through this launcher (see :mod:`dgmlib.autograde.kernel`), which, run as
root on Linux:

* puts the kernel in new mount and PID namespaces (``unshare``): when the kernel ends, or the grader
  kills the launcher, every process the submission started ends with it, and ``/proc`` shows no other
  process of the machine;
* hides the course folder (masters, the gradebook, other students' submissions), the instructor's home,
  ``/tmp``, ``/var/tmp`` and ``/dev/shm`` behind empty in-memory folders, then shows again, read-only, only
  what the kernel needs: the Python installation, the virtual environment, the dgmlib package and the data
  folder; the submission's own folder (its copy of the notebook and files) is the one writable place;
* drops to an unprivileged user (``nobody``), with no supplementary groups and no capabilities;
* clears the environment (no inherited secrets: only PATH, HOME, LANG and the course's DGM_/DGMLIB_
  settings pass), and sets limits on CPU time, memory (address space), file size and processes.

Without root (or outside Linux) it can only clear the environment and set the limits: it says so on
stderr, and the grading summary marks the run as not isolated. It is a guard for a course's autograder,
not a substitute for a container or a VM on a shared server (the kernel still shares the network, the
kernel of the OS and the machine).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

NOBODY = 65534
# the only variables a kernel inherits: no tokens, keys or passwords of the instructor's environment
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "DGM_QUICK", "DGM_MODE", "DGMLIB_DATA", "DGM_GRADER_TOKEN", "NBGRADER_EXECUTION",
            "MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED")


def can_isolate() -> bool:
    """True where the full sandbox is available: Linux, root, and the ``unshare`` tool."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("unshare") is not None


def _limits(cpu_seconds: int, memory_bytes: int, file_bytes: int, processes: int) -> None:
    for name, value in (("RLIMIT_CPU", cpu_seconds), ("RLIMIT_AS", memory_bytes), ("RLIMIT_FSIZE", file_bytes),
                        ("RLIMIT_NPROC", processes), ("RLIMIT_CORE", 0)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (AttributeError, ValueError, OSError) as error:  # e.g. macOS refuses some address-space limits
            print(f"dgmlib.autograde.sandbox: could not set {name}: {error}", file=sys.stderr)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _python_roots() -> list[Path]:
    """What the kernel must see to run Python with this environment's packages."""
    package = Path(__file__).resolve().parents[1]  # dgmlib, found without importing it (and torch)
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), package}
    roots |= {Path(p).resolve() for p in sys.path if p and Path(p).is_dir() and "site-packages" in p}
    return sorted(roots)


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop the paths that lie inside another one of the list."""
    paths = sorted(set(paths))
    return [p for p in paths if not any(q != p and q in p.parents for q in paths)]


def _isolate(args, connection: dict) -> Path:
    """Inside the new namespaces, still root: hide, show again what is needed, write the connection file."""
    workdir = Path(args.workdir).resolve()
    hide = [Path(p).resolve() for p in args.hide if Path(p).exists()]
    hide += [Path(p) for p in ("/tmp", "/var/tmp") if Path(p).is_dir()]
    read_only = _outermost([Path(p).resolve() for p in args.read_only if Path(p).exists()] + _python_roots())
    _mount("--make-rprivate", "/")
    # park what must be shown again on a private tmpfs first: hiding a parent folder would hide it too
    stage = Path("/run") / f"dgm-stage-{os.getpid()}"
    stage.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=700,size=1m", "tmpfs", str(stage))
    parked = []
    for i, (path, ro) in enumerate([(path, True) for path in read_only] + [(workdir, False)]):
        spot = stage / str(i)
        spot.mkdir()
        _mount("--rbind", str(path), str(spot))
        parked.append((spot, path, ro))
    for path in hide:
        _mount("-t", "tmpfs", "-o", "mode=1777" if path in (Path("/tmp"), Path("/var/tmp")) else "mode=755",
               "tmpfs", str(path))
    for spot, path, ro in parked:
        path.mkdir(parents=True, exist_ok=True)  # inside a hiding tmpfs the mount point must be made again
        _mount("--move", str(spot), str(path))
        if ro:
            _mount("-o", "remount,bind,ro", str(path))
    if Path("/dev/shm").is_dir():
        _mount("-t", "tmpfs", "-o", "mode=1777,size=256m", "tmpfs", "/dev/shm")
    target = Path("/tmp/kernel-connection.json")
    target.write_text(json.dumps(connection))
    target.chmod(0o644)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", required=True, help="the submission's folder: the kernel's cwd, writable")
    parser.add_argument("--hide", action="append", default=[], help="a folder the kernel must not see")
    parser.add_argument("--read-only", action="append", default=[], help="a folder to show read-only")
    parser.add_argument("--cpu", type=int, default=900, help="CPU seconds for the kernel and its children")
    parser.add_argument("--memory-mb", type=int, default=8192, help="address space per process, MiB")
    parser.add_argument("--file-mb", type=int, default=256, help="largest file a process may write, MiB")
    parser.add_argument("--processes", type=int, default=512, help="processes of the unprivileged user")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("kernel", nargs=argparse.REMAINDER, help="-- then the kernel's command, with {connection_file}")
    args = parser.parse_args(argv)
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    if not kernel:
        parser.error("give the kernel's command after --")

    if can_isolate() and not args.inside:
        # new mount and PID namespaces; --kill-child: if the grader kills us, the namespace's init dies,
        # and with it every process of the submission
        os.execvp("unshare", ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
                              sys.executable, str(Path(__file__).resolve()), "--inside", *sys.argv[1:]])

    connection_index = next(i for i, a in enumerate(kernel) if a.endswith(".json") and kernel[i - 1] == "-f")
    env = {key: value for key, value in os.environ.items() if key in KEEP_ENV}
    if env.get("DGMLIB_DATA"):  # through links: the folder is shown again at its real path only
        env["DGMLIB_DATA"] = str(Path(env["DGMLIB_DATA"]).resolve())
    if args.inside:
        connection = json.loads(Path(kernel[connection_index]).read_text())
        kernel[connection_index] = str(_isolate(args, connection))
        env["HOME"] = "/tmp"
    else:
        print("dgmlib.autograde.sandbox: not isolated (needs root on Linux with unshare): the kernel runs as "
              f"{os.getlogin() if hasattr(os, 'getlogin') else 'this user'} with limits and a clean environment "
              "only", file=sys.stderr)
        env["HOME"] = str(Path(args.workdir).resolve())
    os.chdir(args.workdir)
    _limits(args.cpu, args.memory_mb * 2**20, args.file_mb * 2**20, args.processes)
    if args.inside:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    os.umask(0o022)
    os.execvpe(kernel[0], kernel, env)


if __name__ == "__main__":
    main()
