"""Stage processes forked from one interpreter that has imported the stage's libraries once.

A fresh `python -m train_video` spends about 9 CPU-seconds importing torch, transformers, datasets and the rest
before its first iteration (BENCHMARKS.md). A `StageLauncher` starts one server that imports them once and then forks
every run from it: each run is its own process, with its own environment, folder, output files and exit code, as if
started from the shell, minus the imports. The server is our own (not `multiprocessing`'s forkserver): one
connection per run carries its pid, its exit code and a kill request, so runs started and awaited from several
threads never read each other's status, and nothing of the caller's `__main__` is re-run.

    with StageLauncher() as launcher:
        run = launcher.start("train_video", ["--data_dir", "data", ...], stdout=log.fileno(), env={...})
        exit_code = run.wait()
"""

import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading

# What each stage's main imports once its arguments are good: the server imports them before its first fork.
# (A module missing here is imported by each run itself: slower, not wrong; tests/test_launcher.py checks the list.)
PRELOAD = {
    "train_video": ("accelerate", "datasets", "evaluate", "scipy.io", "skada.metrics", "torch.utils.serialization",
                    "ego2exo_hf.cards", "ego2exo_hf.hub", "ego2exo_hf.metrics", "ego2exo_hf.models",
                    "ego2exo_hf.data.builder", "ego2exo_hf.data.samplers", "ego2exo_hf.video.data",
                    "ego2exo_hf.video.loop", "ego2exo_hf.video.methods", "ego2exo_hf.video.selection",
                    "ego2exo_hf.video.checkpoints"),
    "train_text": ("accelerate", "datasets", "evaluate", "scipy.io", "ego2exo_hf.cards", "ego2exo_hf.hub",
                   "ego2exo_hf.metrics", "ego2exo_hf.text.trainer", "ego2exo_hf.text.pseudo_labeller",
                   "ego2exo_hf.text.backbone"),
}  # fmt: skip
_MAX_FDS = 8


def option_words(options: dict) -> list[str]:
    """`{"data_dir": "d", "seed": 0}` -> `["--data_dir", "d", "--seed", "0"]`: a stage's command-line words."""
    return [word for name, value in options.items() for word in (f"--{name}", str(value))]


def shell_command(stage: str, argv: list[str]) -> str:
    """The shell line that runs `stage` with `argv` by hand (logs and error messages print it)."""
    import shlex

    return shlex.join(["python", "-m", stage, *argv])


def _send(sock: socket.socket, message: dict, fds=()) -> None:
    data = json.dumps(message).encode()
    socket.send_fds(sock, [len(data).to_bytes(4, "big") + data], list(fds))


def _receive(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One message of `_send` and the descriptors that came with it; (None, []) once the other side has closed."""
    head, fds, _, _ = socket.recv_fds(sock, 4, _MAX_FDS)
    while head and len(head) < 4:
        head += sock.recv(4 - len(head))
    if len(head) < 4:
        return None, fds
    size, data = int.from_bytes(head, "big"), b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None, fds
        data += chunk
    return json.loads(data), fds


class StageProcess:
    """A run started by `StageLauncher.start`, with the `subprocess.Popen` calls the callers need."""

    def __init__(self, connection: socket.socket):
        self._connection = connection
        self._buffer = b""
        self.pid: int | None = None
        self.returncode: int | None = None

    def _read(self, timeout: float | None) -> None:
        """Read the server's lines (`pid N`, `exit C`) that arrive within `timeout` seconds (None: until the exit)."""
        while self.returncode is None:
            if not select.select([self._connection], [], [], timeout)[0]:
                return
            chunk = self._connection.recv(256)
            if not chunk:  # the server died without reporting: count the run as killed
                self.returncode = -signal.SIGKILL
                return
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for word, value in (line.decode().split() for line in lines):
                if word == "pid":
                    self.pid = int(value)
                else:
                    self.returncode = int(value)
                    self._connection.close()

    def poll(self) -> int | None:
        self._read(timeout=0)
        return self.returncode

    def wait(self) -> int:
        self._read(timeout=None)
        return self.returncode

    def kill(self) -> None:
        """Stop the run (SIGKILL); a run the server has not forked yet never starts."""
        if self.returncode is None:
            try:
                self._connection.sendall(b"kill\n")
            except OSError:  # the server is gone
                if self.pid is not None:
                    os.kill(self.pid, signal.SIGKILL)


class StageLauncher:
    """Starts stage runs as forks of one server process that has imported the stages' libraries (see the module).

    `stages`: the stages whose libraries the server imports as soon as it starts (any other is imported at its first
    run). `env`: the server's environment (default this one's), which every run inherits; libraries read some
    variables when they are imported (`HF_DATASETS_DISABLE_PROGRESS_BARS`, `HF_HUB_OFFLINE`), so set those here."""

    def __init__(self, stages: tuple[str, ...] = (), env: dict | None = None):
        ours, theirs = socket.socketpair()
        self._control, self._lock = ours, threading.Lock()
        serve_call = f"serve({theirs.fileno()}, {tuple(stages)!r})"
        command = [sys.executable, "-c", f"from ego2exo_hf.launcher import serve; {serve_call}"]
        self._server = subprocess.Popen(command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)
        theirs.close()

    def start(self, stage: str, argv: list[str], *, stdout: int = 1, stderr: int = 2, env: dict | None = None,
              pass_fds=()) -> StageProcess:  # fmt: skip
        """Run `python -m <stage> <argv>` (in this folder) as a fork of the server: its output goes to the file
        descriptors `stdout` and `stderr`, `env` is added to the server's environment (`OMP_NUM_THREADS` also sets
        torch's threads), and the descriptors `pass_fds` stay open in the run (e.g. a held `flock`)."""
        ours, theirs = socket.socketpair()
        request = {"stage": stage, "argv": [str(word) for word in argv], "env": env or {}, "cwd": os.getcwd()}
        with self._lock:
            _send(self._control, request, [theirs.fileno(), stdout, stderr, *pass_fds])
        theirs.close()
        return StageProcess(ours)

    def alive(self) -> bool:
        """Whether the server still takes runs."""
        return self._server.poll() is None

    def close(self) -> None:
        """Let the server go once it has started what it was asked to (runs still training keep training)."""
        self._control.close()
        self._server.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(control_fd: int, stages: tuple[str, ...] = ()) -> None:
    """The server (`StageLauncher` starts it): import `stages`' libraries, then fork one run per request until the
    launcher closes its end. Runs still training then go on by themselves (each holds its own locks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the runs and the caller; the caller closes us
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a run ended: wakes `select` through the pipe
    control = socket.socket(fileno=control_fd)
    runs: dict[socket.socket, int] = {}  # the connection of each forked run still alive -> its pid
    for stage in stages:
        _preload(stage)
    preloaded = set(stages)
    while True:
        readable = select.select([control, wakeup_read, *runs], [], [])[0]
        for connection in [c for c in readable if c in runs]:  # before new requests: a kill may come with an end
            if connection.recv(64):
                os.kill(runs[connection], signal.SIGKILL)
            else:  # the caller is gone: the run goes on
                del runs[connection]
                connection.close()
        if wakeup_read in readable:
            os.read(wakeup_read, 4096)
        for connection, pid in list(runs.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del runs[connection]
                _tell(connection, f"exit {os.waitstatus_to_exitcode(status)}")
        if control in readable:
            request, fds = _receive(control)
            if request is None:
                break
            if request["stage"] not in preloaded:
                _preload(request["stage"])
                preloaded.add(request["stage"])
            connection = socket.socket(fileno=fds[0])
            if select.select([connection], [], [], 0)[0]:  # killed, or its caller gone, before it started
                _tell(connection, f"exit {-signal.SIGKILL}")
            else:
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _run(request, fds[1:], close=[control, connection, *runs, wakeup_read, wakeup_write])
                runs[connection] = pid
            for fd in fds[1:]:  # the run's now: a lock it was given is held by the run alone
                os.close(fd)
            if connection in runs:
                _tell(connection, f"pid {runs[connection]}", close=False)


def _tell(connection: socket.socket, line: str, close: bool = True) -> None:
    try:
        connection.sendall(f"{line}\n".encode())
    except OSError:  # the caller is gone
        pass
    if close:
        connection.close()


def _preload(stage: str) -> None:
    for name in (*PRELOAD.get(stage, ()), stage):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S110 (the run imports it again and reports the error in its own output)
            pass


def _run(request: dict, fds: list[int], close: list) -> None:
    """The forked run: the request's folder, environment and output (`fds`: stdout, stderr, then the descriptors to
    keep open), then the stage's entry point; never returns. The server's own ends (`close`) are closed."""
    code, (stdout, stderr, *keep) = 1, fds
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for server_end in close:
            if isinstance(server_end, socket.socket):
                server_end.close()
            else:
                os.close(server_end)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        torch = sys.modules.get("torch")
        if torch is not None and getattr(torch.cuda, "_is_in_bad_fork", lambda: False)():
            # A preloaded library asked CUDA for its devices: no fork can use CUDA now, a fresh interpreter can.
            for fd in keep:
                os.set_inheritable(fd, True)
            os.execv(sys.executable, [sys.executable, "-m", request["stage"], *request["argv"]])
        if torch is not None and "OMP_NUM_THREADS" in request["env"]:
            torch.set_num_threads(int(request["env"]["OMP_NUM_THREADS"]))
        from .errors import exit_on_user_error

        stage = importlib.import_module(request["stage"])
        sys.argv = [stage.__file__, *request["argv"]]
        exit_on_user_error(stage.main)()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
