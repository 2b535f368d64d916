"""Real STM32 boards through PlatformIO: the project a build directory carries, and `edgegen flash`.

``write_project`` adds ``platformio.ini`` and the STM32 glue (``board/stm32``) to a build
directory. By default the project pulls the real CMSIS-NN (a pinned release) through
``lib_deps``, so a board runs the optimized DSP kernels; with a local CMSIS-NN copy (``--cmsis-nn``)
it compiles ``cmsis_nn/`` instead. ``flash`` runs ``pio run -t upload`` and, with ``monitor``,
``pio device monitor`` until the harness prints its verdict. docs/flashing.md has the details.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .boards import Board, PlatformIO, resolve_board
from .errors import EdgegenError, ToolchainError
from .harness_output import HarnessResult, parse_harness_output
from .resources import firmware_dir

#: the CMSIS-NN release the PlatformIO project downloads when no local copy is given
CMSIS_NN_URL = "https://github.com/ARM-software/CMSIS-NN.git"
CMSIS_NN_TAG = "v7.0.0"

META_FILE = "build.json"
PROJECT_FILE = "platformio.ini"

#: what PlatformIO, OpenOCD or the ST-LINK tools print when no probe or target answers
_NO_BOARD = re.compile(
    r"No ST-?LINK detected|open failed|unable to find a matching CMSIS-DAP device|init mode failed"
    r"|No device found|No STLink|ST-?LINK.*not found|unable to connect to the target|couldn't find any connected",
    re.IGNORECASE)
#: a probe is there but the operating system does not let PlatformIO open it
_NO_ACCESS = re.compile(r"LIBUSB_ERROR_ACCESS|Permission denied.*(?:usb|tty)|Access denied", re.IGNORECASE)
_NO_PORT = re.compile(r"could not open port|Please specify `?upload_port|no such file or directory: '/dev/|"
                      r"Could not find any serial port|Serial port .* not found", re.IGNORECASE)
_UDEV_HINT = ("on Linux install PlatformIO's udev rules "
              "(https://docs.platformio.org/en/latest/core/installation/udev-rules.html)")


class NoBoardError(EdgegenError):
    """No debug probe or target answered the upload (unplugged, wrong cable, no permission)."""

    kind = "no-board"


class FlashError(EdgegenError):
    """The directory cannot be flashed, or the board did not report a verdict."""

    kind = "flash"


# ---------------------------------------------------------------------------------------------
# The project
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcpConfig:
    """The console UART as the C glue needs it (templates/platformio/edgegen_stm32_config.h.j2)."""

    hal_header: str
    uart: str
    port: str
    tx: int
    rx: int
    af: int
    baud: int
    vddio2: bool


_PIN = re.compile(r"^P([A-K])(\d{1,2})$")
_UART = re.compile(r"^(?:LP)?U(?:S)?ART\d$")


def vcp_config(board: Board) -> VcpConfig:
    pio = _require_pio(board)

    def pin(name: str, value: str) -> tuple[str, int]:
        m = _PIN.match(value)
        if not m or int(m.group(2)) > 15:
            raise EdgegenError(f"{board.path}: [platformio] {name} = '{value}' is not a pin like 'PA2'")
        return m.group(1), int(m.group(2))

    tx_port, tx = pin("vcp_tx", pio.vcp_tx)
    rx_port, rx = pin("vcp_rx", pio.vcp_rx)
    if tx_port != rx_port:
        raise EdgegenError(f"{board.path}: the VCP pins {pio.vcp_tx} and {pio.vcp_rx} must be on one GPIO port")
    if not _UART.match(pio.vcp_uart):
        raise EdgegenError(f"{board.path}: [platformio] vcp_uart = '{pio.vcp_uart}' is not a UART like 'USART2'")
    if not re.fullmatch(r"STM32[A-Z]\dxx", pio.hal_family):
        raise EdgegenError(f"{board.path}: [platformio] hal_family = '{pio.hal_family}' is not like 'STM32L4xx'")
    # On the STM32L4 family, port G (PG2..PG15) is powered from VDDIO2, off after reset.
    vddio2 = pio.hal_family == "STM32L4xx" and tx_port == "G"
    return VcpConfig(hal_header=f"{pio.hal_family.lower()}_hal.h", uart=pio.vcp_uart, port=tx_port, tx=tx, rx=rx,
                     af=pio.vcp_af, baud=pio.monitor_speed, vddio2=vddio2)


def float_flags(board: Board) -> tuple[str, ...]:
    """The board's FPU flags (-mfpu, -mfloat-abi): PlatformIO's stm32cube build passes only -mcpu."""
    return tuple(f for f in board.cflags if f.startswith(("-mfpu=", "-mfloat-abi=")))


def _require_pio(board: Board) -> PlatformIO:
    if board.kind != "stm32" or board.platformio is None:
        raise EdgegenError(f"{board.name} is not an STM32 board; PlatformIO projects are for kind 'stm32'")
    return board.platformio


def write_project(out: Path, board: Board, *, use_local_cmsis_nn: bool) -> list[Path]:
    """Writes ``platformio.ini`` and ``board/stm32/`` (glue, pre-script, generated config) into ``out``.

    ``use_local_cmsis_nn``: compile ``out/cmsis_nn`` (a copy of the user's CMSIS-NN, or edgegen's
    portable kernels) instead of downloading CMSIS-NN ``CMSIS_NN_TAG`` through ``lib_deps``.
    """
    from . import __version__
    from .codegen import _environment, write_templates

    pio = _require_pio(board)
    env = _environment()
    glue = out / "board" / "stm32"
    shutil.copytree(firmware_dir() / "boards" / "stm32", glue, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    ctx = dict(
        version=__version__,
        board=board,
        env=board.name,
        pio=pio,
        vcp=vcp_config(board),
        float_flags=float_flags(board),
        local_cmsis_nn=use_local_cmsis_nn,
        cmsis_nn_note="a local copy" if use_local_cmsis_nn else "",
        cmsis_nn_url=CMSIS_NN_URL,
        cmsis_nn_tag=CMSIS_NN_TAG,
    )
    files = {
        PROJECT_FILE: "platformio/platformio.ini.j2",
        "board/stm32/edgegen_stm32_config.h": "platformio/edgegen_stm32_config.h.j2",
    }
    written = write_templates(env, out, files, ctx)
    written += sorted(p for p in glue.rglob("*") if p.is_file() and p not in written)
    return written


# ---------------------------------------------------------------------------------------------
# Flashing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlashResult:
    board: Board
    directory: Path
    #: the serial/upload port given by the user, else None (PlatformIO found it)
    port: str | None
    #: what `pio run -t upload` printed (stdout and stderr)
    upload_output: str
    #: the parsed harness lines when monitored, else None
    result: HarnessResult | None
    #: everything the monitor printed, "" when not monitored
    transcript: str

    @property
    def clock_hz(self) -> int:
        """The core clock the board reported ("edgegen: board NAME clock HZ"), else the board file's."""
        for line in self.result.lines if self.result else ():
            words = line.split()
            if len(words) >= 6 and words[1] == "board" and words[3] == "clock" and words[4].isdigit():
                return int(words[4])
        return self.board.clock_hz


def find_pio() -> str:
    for name in ("pio", "platformio"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise ToolchainError("PlatformIO is not installed: `pip install platformio` (then `pio` must be on PATH); "
                         "see https://docs.platformio.org/en/latest/core/installation/")


def board_of(directory: Path) -> Board:
    """The STM32 board a build directory was made for (its build.json), with a clear error otherwise."""
    meta_path = directory / META_FILE
    if not directory.is_dir():
        raise FlashError(f"{directory}: no such directory; run `edgegen build MODEL --board BOARD --out {directory}`")
    if not meta_path.is_file():
        raise FlashError(f"{directory} is not an edgegen build directory (no {META_FILE}); run `edgegen build` first")
    try:
        name = str(json.loads(meta_path.read_text(encoding="utf-8"))["board"])
    except (ValueError, KeyError, TypeError):
        raise FlashError(f"{meta_path}: damaged; rebuild the directory with `edgegen build --force`") from None
    board = resolve_board(name).board
    if board.kind == "qemu":
        raise FlashError(f"{directory} was built for {board.name}, an emulated board: run it with "
                         f"`edgegen run {directory}`, or rebuild with --board nucleo-l4r5zi (or another real board) "
                         "to flash hardware")
    if board.kind != "stm32":
        raise FlashError(f"{directory} was built for '{board.name}', not for a board: check it with "
                         f"`edgegen verify {directory}` or `edgegen run {directory} --board qemu-m4`, or rebuild with "
                         "--board nucleo-l4r5zi (or another real board) to flash hardware")
    if not (directory / PROJECT_FILE).is_file():
        raise FlashError(f"{directory} has no {PROJECT_FILE}; rebuild it with `edgegen build ... --board {board.name} "
                         "--force`")
    return board


#: where PlatformIO downloads from on first use: its registry (the platform, toolchain and
#: framework) and GitHub (CMSIS-NN, the project's lib_deps)
REGISTRY = ("api.registry.platformio.org", 443)
GITHUB = ("github.com", 443)
#: what PlatformIO prints when a download fails for want of a network
_OFFLINE = re.compile(r"not connected to the Internet|InternetIsOffline|Could not resolve host|Name or service not "
                      r"known|Temporary failure in name resolution|Max retries exceeded|HTTPClientError|"
                      r"Network is unreachable|Failed to establish a new connection", re.IGNORECASE)


def _core_dir() -> Path:
    return Path(os.environ.get("PLATFORMIO_CORE_DIR") or Path.home() / ".platformio")


def downloads_needed(directory: Path, board: Board) -> list[tuple[str, tuple[str, int]]]:
    """What PlatformIO would download before it can build ``directory``, and from where."""
    pio = _require_pio(board)
    needed = []
    if not (_core_dir() / "platforms" / pio.platform).is_dir():
        needed.append((f"the {pio.platform} platform, its toolchain and framework", REGISTRY))
    ini = directory / "platformio.ini"
    if ini.is_file() and "lib_deps" in ini.read_text(encoding="utf-8", errors="replace") and \
            not (directory / ".pio" / "libdeps" / board.name / "CMSIS-NN").is_dir():
        needed.append((f"CMSIS-NN {CMSIS_NN_TAG}", GITHUB))
    return needed


def unreachable(host: tuple[str, int], timeout: float = 5.0) -> str | None:
    """None when a TCP connection to ``host`` opens within ``timeout`` s (name lookup included),
    else why not."""
    import socket
    import threading

    found: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection(host, timeout=timeout).close()
            found.append(None)
        except OSError as e:
            found.append(str(e) or type(e).__name__)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 1.0)  # getaddrinfo has no timeout of its own
    return found[0] if found else f"no answer within {timeout:.0f} s"


def check_downloads(directory: Path, board: Board) -> None:
    """Before `pio run`: if PlatformIO must download something first and cannot reach where it
    comes from, say so at once in one line (PlatformIO itself retries silently for about a minute)."""
    for what, host in downloads_needed(directory, board):
        why = unreachable(host)
        if why is not None:
            local = (" (or rebuild with --portable-kernels or --cmsis-nn DIR, which compile CMSIS-NN from the "
                     "build directory)") if host == GITHUB else ""
            raise FlashError(f"PlatformIO must first download {what} from {host[0]}, which cannot be reached "
                             f"({why}): connect this computer to the internet and retry; later flashes need no "
                             f"network{local}")


def upload_command(pio: str, directory: Path, board: Board, port: str | None) -> list[str]:
    cmd = [pio, "run", "-d", str(directory), "-e", board.name, "-t", "upload"]
    if port is not None:
        cmd += ["--upload-port", port]
    return cmd


def monitor_command(pio: str, directory: Path, board: Board, port: str | None) -> list[str]:
    baud = _require_pio(board).monitor_speed
    cmd = [pio, "device", "monitor", "-d", str(directory), "-e", board.name, "-b", str(baud)]
    if port is not None:
        cmd += ["--port", port]
    return cmd


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def _upload_error(board: Board, returncode: int, output: str) -> EdgegenError:
    probe = _require_pio(board).upload_protocol
    offline = _OFFLINE.search(output)
    if offline:
        return FlashError(f"PlatformIO could not download what {board.name}'s build needs ('{offline.group(0)}'): "
                          "connect this computer to the internet and retry; later flashes need no network")
    m = _NO_BOARD.search(output)
    if m:
        return NoBoardError(f"no {board.name} found: the {probe} upload reports '{m.group(0)}'. Connect the board's "
                            f"ST-LINK USB port with a data cable, check no other program holds the probe, and "
                            f"{_UDEV_HINT}")
    m = _NO_ACCESS.search(output)
    if m:
        return NoBoardError(f"the {probe} probe of {board.name} cannot be opened ('{m.group(0)}'): {_UDEV_HINT}, "
                            "then unplug and replug the board")
    return ToolchainError(f"`pio run -t upload` failed for {board.name} (exit {returncode}); its last lines:\n"
                          f"{_tail(output)}")


def _run_upload(cmd: list[str], echo: Callable[[str], None] | None) -> tuple[int, str]:
    """Runs the upload, passing each line to ``echo`` as it comes (builds can take minutes)."""
    lines = []
    with procs.child(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                     errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
        return proc.wait(), "".join(lines)


def flash(directory: Path, *, monitor: bool, port: str | None = None, timeout: float = 60.0,
          echo: Callable[[str], None] | None = None) -> FlashResult:
    """Builds and uploads ``directory``'s PlatformIO project; with ``monitor``, reads the verdict.

    ``timeout`` bounds the monitoring (seconds from opening the serial port to the verdict).
    ``echo`` receives PlatformIO's and the board's output line by line as it arrives.
    """
    board = board_of(directory)
    pio = find_pio()
    check_downloads(directory, board)
    code, output = _run_upload(upload_command(pio, directory, board, port), echo)
    if code != 0:
        raise _upload_error(board, code, output)
    if not monitor:
        return FlashResult(board=board, directory=directory, port=port, upload_output=output, result=None,
                           transcript="")
    transcript = read_monitor(monitor_command(pio, directory, board, port), timeout=timeout, echo=echo)
    m = _NO_PORT.search(transcript)
    result = parse_harness_output(transcript)
    if result.verdict is None or not _has_run(transcript):
        fault = next((line for line in result.lines if line.split()[1:2] == ["fault"]), None)
        if fault is not None:
            raise FlashError(f"{board.name} crashed while running the model ({fault}); try `edgegen run` on the "
                             "emulator twin, and a --guard build to find the call that corrupts memory")
        if m and not result.lines:
            raise NoBoardError(f"cannot open the serial port of {board.name} ('{m.group(0)}'): pass --port "
                               f"(`pio device list` shows the ports), and {_UDEV_HINT}")
        heard = "it printed nothing" if not result.lines else "its last lines:\n" + _tail(transcript)
        raise FlashError(f"{board.name} was flashed but gave no verdict within {timeout:.0f} s ({heard}); "
                         "raise --timeout for a large model, or watch it with "
                         f"`pio device monitor -d {directory}` (press a key at 'edgegen: ready')")
    return FlashResult(board=board, directory=directory, port=port, upload_output=output, result=result,
                       transcript=transcript)


def _has_run(transcript: str) -> bool:
    """A complete run: "begin" before the last verdict (not a verdict caught mid-run)."""
    begin = transcript.rfind("edgegen: begin")
    return begin >= 0 and transcript.find("edgegen: verdict", begin) >= 0


_VERDICT = re.compile(r"edgegen: verdict (?:PASS|FAIL)")


def read_monitor(cmd: list[str], *, timeout: float, echo: Callable[[str], None] | None = None) -> str:
    """Runs ``pio device monitor`` until a complete harness run ends in a verdict, or ``timeout``.

    The STM32 glue waits for a byte before it runs (it prints "edgegen: ready" once a second), so
    nothing is lost between the upload's reset and the port opening: a byte is sent for each
    "ready" line until the run begins. miniterm reads keys from a terminal, so on POSIX its
    standard input is a pseudo-terminal that the byte is written to; elsewhere the user's console
    is inherited and the user presses a key.
    """
    master = slave = -1
    stdin: int | None = None
    if os.name == "posix":
        import pty

        master, slave = pty.openpty()
        stdin = slave
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=stdin, start_new_session=True)
    if slave >= 0:
        os.close(slave)
    lines: queue.Queue[bytes | None] = queue.Queue()

    def reader() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    out: list[str] = []
    began = False
    prompted = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                raw = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if raw is None:
                break
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            out.append(line)
            if echo is not None:
                echo(line)
            body = line.strip()
            if body.startswith("edgegen: ready") and not began:
                if master >= 0:
                    os.write(master, b"\r")
                elif not prompted:
                    print("edgegen: press Enter to start the board", file=sys.stderr)
                prompted = True
            elif body.startswith("edgegen: begin"):
                began = True
            elif began and _VERDICT.match(body):
                break
    finally:
        procs.stop_group(proc)
        if master >= 0:
            os.close(master)
    return "\n".join(out) + ("\n" if out else "")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def cmd_flash(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    echo = (lambda line: print(line, file=sys.stderr)) if (args.verbose or sys.stderr.isatty()) else None
    run = flash(directory, monitor=args.monitor, port=args.port, timeout=args.timeout, echo=echo)
    pio = _require_pio(run.board)
    where = f" on {run.port}" if run.port else ""
    print(f"flashed {run.board.name} via {pio.upload_protocol}{where}")
    r = run.result
    if r is None:
        print(f"  read the harness with: edgegen flash {directory} --monitor  (or `pio device monitor -d {directory}`)")
        return 0
    from .builddir import record_result

    record_result(directory, run.board.name, r, "cycles")
    vectors = r.vectors_passed + len(r.failures)
    if r.total is not None:
        hz = run.clock_hz
        ms = f" ({r.total / hz * 1000:.2f} ms at {hz / 1e6:.0f} MHz)" if hz else ""
        print(f"  inference: {r.total} cycles{ms}, {len(r.per_call)} kernel calls timed")
    for f in r.failures:
        print(f"  vector {f.vector}: output {f.output} byte {f.byte} expected {f.expected} got {f.got}")
    if r.error:
        print(f"  {r.error}")
    if r.verdict:
        print(f"  parity: PASS ({r.vectors_passed}/{vectors} vectors bit-exact with the simulator)")
        return 0
    print(f"  parity: FAIL ({r.vectors_passed}/{vectors} vectors matched)")
    return 1


def configure_flash_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    f = sub.add_parser("flash", help="build and upload the PlatformIO project to the real board (pio run -t upload)")
    f.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")
    f.add_argument("dir", help="a directory written by `edgegen build --board <an STM32 board>`")
    f.add_argument("--monitor", action="store_true",
                   help="then read the harness over the serial port and check its parity verdict")
    f.add_argument("--port", help="upload and serial port (default: PlatformIO finds the board)")
    f.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for the verdict when monitoring (default 60)")
    f.set_defaults(func=cmd_flash)
