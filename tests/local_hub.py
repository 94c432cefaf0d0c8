"""A real local Hugging Face Hub for tests and benchmarks: olah (read-only, real) behind `hub_front.py` (the
test-only stand-in for the Hub's write API). `running_hub(root)` starts both and yields the endpoint."""

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port(exclude: set[int] = frozenset()) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, and not one of `exclude` (two calls in a row may be
    given the same port: the first socket is closed before the second binds)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port


def wait_for(port: int, process, log: Path, seconds: float = 60, health: str | None = None) -> None:
    """Wait until `process` serves `port`. A bare connection is not proof (another process may hold the port, e.g.
    the other server of the pair when both were given one port): with `health`, an HTTP path only our server
    answers must return 200, and the process must still be running after it."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if health is None:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            else:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2) as response:
                    if response.status != 200:
                        raise OSError(f"health check answered {response.status}")
            if process.poll() is None:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")


FRONT_HEALTH = "/_front/health"  # answered by hub_front.py itself, never proxied to olah


def hub_env(endpoint: str, home: Path, **extra) -> dict:
    """Client environment; huggingface_hub reads it at import, so each client runs in its own process."""
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HUB_DISABLE_XET": "1",
        "HF_TOKEN": "dummy-token",
        "HF_HOME": str(home),
        "HF_MODULES_CACHE": str(home / "modules"),
        **extra,
    }


@contextlib.contextmanager
def running_hub(root: Path):
    root = Path(root)
    (root / "mirrors").mkdir(parents=True, exist_ok=True)
    olah_port = free_port()
    front_port = free_port(exclude={olah_port})
    (root / "olah.toml").write_text(
        f'[basic]\nhost = "127.0.0.1"\nport = {olah_port}\nrepos-path = "{root / "repos"}"\n'
        f'mirror-netloc = "127.0.0.1:{olah_port}"\nmirror-lfs-netloc = "127.0.0.1:{olah_port}"\n'
        f'mirrors-path = ["{root / "mirrors"}"]\n\n[accessibility]\noffline = true\n'
    )
    processes = []
    try:
        with open(root / "olah.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "olah-cli"), "-c", str(root / "olah.toml")],
                    cwd=root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_for(olah_port, processes[0], root / "olah.log")
        with open(root / "front.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(HERE / "hub_front.py"),
                        "--port",
                        str(front_port),
                        "--olah",
                        f"http://127.0.0.1:{olah_port}",
                        "--mirrors",
                        str(root / "mirrors"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_for(front_port, processes[1], root / "front.log", health=FRONT_HEALTH)
        yield f"http://127.0.0.1:{front_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
