"""Child side of :func:`bench.common.run_isolated`: ``python -m bench.worker TARGET ARGS_JSON ANSWER_PATH``."""
from __future__ import annotations

import importlib
import json
import sys


def main(argv: list[str]) -> int:
    target, args, answer = argv
    module_name, _, attr = target.partition(":")
    result = getattr(importlib.import_module(module_name), attr)(**json.loads(args))
    with open(answer, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
