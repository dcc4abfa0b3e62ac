"""A journal writer run as its own process by the crash tests.

Usage: python -m tests.journal.writer JOURNAL_PATH COUNT PAYLOAD_BYTES TAG
Appends COUNT notes (params: seq, tag) and prints each seq after `note` returned, i.e. once the
entry is durable, so the parent knows what was acknowledged.
"""

from __future__ import annotations

import sys

from workbench.journal import Journal


def main() -> None:
    """Append notes in a loop, acknowledging each on stdout."""
    path, count, size, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    journal = Journal(path, incident="crash-test", author=f"writer-{tag}")
    payload = "x" * size
    for seq in range(count):
        journal.note(f"{tag} {seq} {payload}", seq=seq, tag=tag)
        print(seq, flush=True)


if __name__ == "__main__":
    main()
