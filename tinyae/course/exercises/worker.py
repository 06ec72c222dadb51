"""The child process of ``tinyae exercises check``: ``python -m
tinyae.course.exercises.worker FOLDER [--seed S] [--no-integration]``.

Reads exercise numbers from stdin, one per line, and answers each with one
JSON line on the stdout it started with; file descriptor 1 is pointed at
stderr first, so whatever the student's code prints cannot garble the
answers. Prints ``{"ready": true}`` once imports are done.
"""

import argparse
import json
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinyae.course.exercises.worker")
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--no-integration", action="store_true")
    args = parser.parse_args(argv)

    answers = os.fdopen(os.dup(1), "w")                # the private pipe to the parent
    os.dup2(2, 1)                                      # prints (Python or C) go to stderr
    sys.stdout = sys.stderr
    sys.path.insert(0, os.path.abspath(args.folder))   # the student's own helper modules

    from .checker import check_file, jsonable

    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        number = int(line)
        seed = (args.seed * 1000 + number) % 2**63
        result = check_file(args.folder, number, seed=seed,
                             integration=not args.no_integration)
        answers.write(json.dumps(jsonable(result)) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
