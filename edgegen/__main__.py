"""`python -m edgegen` and the `edgegen` console script.

Signal handlers go in before anything heavy is imported (numpy, rich, the CLI's modules take a
few hundred milliseconds), so a Ctrl-C at any moment ends in one line, not a traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    from .procs import exit_code, install_handlers

    install_handlers()
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt as e:
        print("edgegen: interrupted (temporary files removed, child processes stopped)", file=sys.stderr)
        return exit_code(e)
    try:
        return cli_main()
    except BrokenPipeError:
        # the reader of stdout went away (`edgegen boards | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so that the interpreter's final flush does not complain again
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal


if __name__ == "__main__":
    sys.exit(main())
