"""What the two benchmarks, ``tinyae.bench`` (training steps against
PyTorch) and ``tinyae.bench.tsne`` (t-SNE against scikit-learn), share: the
other library's child process, spoken to in JSON lines; the checks of their
``--threads`` and ``--json`` flags; the aligned text table; the end of a run
(the load average after it, the JSON file)."""

import argparse
import json
import os
import subprocess
import sys

from .._validation import arg_positive_int


class ChildProcess:
    """The other library, in a process of its own (``python -m <module>
    <flag>`` with this interpreter), one JSON line each way per request.
    A subclass names the library (``NAME``) and says what to ask."""

    NAME = "child"

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    def spawn(cls, args, env=None):
        """Start ``python -m *args`` (``env``: its environment, default ours)."""
        return cls(subprocess.Popen([sys.executable, "-m", *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, bufsize=1, env=env))

    def _ask(self, request):
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise RuntimeError(f"the {self.NAME} worker stopped (exit code {self.proc.wait()})")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


def thread_counts(parser, text):
    """``--threads`` N or a list such as 2,1 -> [int, ...], or a usage error."""
    try:
        counts = [arg_positive_int(t) for t in text.split(",") if t.strip()]
    except argparse.ArgumentTypeError as e:
        parser.error(f"argument --threads: {e}")
    if not counts:
        parser.error("argument --threads: expected N or a list such as 2,1, got nothing")
    return counts


def check_json_path(parser, path):
    """A usage error now if ``--json PATH`` could not be written at the end."""
    problem = None if path is None else unwritable(path)
    if problem:
        parser.error(f"argument --json: cannot write {path!r}: {problem}")


def finish(result, path, out):
    """Print the load average after the run, add it to ``result``, write
    ``result`` to ``path`` as JSON (if a path is given); returns ``result``."""
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f}", file=out)
    result["loadavg_after"] = load_after
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
    return result


def unwritable(path):
    """Why ``path`` cannot be written (a sentence), or None if it can: checked
    before the run so a bad path does not fail after it."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "it is a directory"
    if not os.path.isdir(parent):
        return f"folder {parent!r} does not exist"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "the file is not writable"
    if not os.path.exists(path) and not os.access(parent, os.W_OK | os.X_OK):
        return f"folder {parent!r} is not writable"
    return None


def format_rows(rows, columns, na):
    """``rows`` (dicts) as an aligned text table; ``columns``: (header, key,
    format) triples; a missing (None) number -> ``na``."""
    cells = [[h for h, _, _ in columns]]
    for row in rows:
        cells.append([na if row[k] is None else fmt.format(row[k]) for _, k, fmt in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
