"""Child side of :func:`bench.common.run_isolated`:
``python -m bench.worker TARGET ARGS_JSON ANSWER_PATH STACKS_AFTER_S``.

If ``TARGET`` has not returned after ``STACKS_AFTER_S`` seconds, every thread's
stack goes to stderr and the process exits: the parent reports where it hung.
"""
from __future__ import annotations

import faulthandler
import importlib
import json
import sys


def main(argv: list[str]) -> int:
    target, args, answer, stacks_after = argv
    faulthandler.dump_traceback_later(float(stacks_after), exit=True)
    module_name, _, attr = target.partition(":")
    result = getattr(importlib.import_module(module_name), attr)(**json.loads(args))
    faulthandler.cancel_dump_traceback_later()
    with open(answer, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
