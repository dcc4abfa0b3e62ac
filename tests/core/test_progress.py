"""The CLI's progress printer: the step of the known stages, the seconds so far, one line per
message off a terminal and one redrawn line with a bar on one."""

from __future__ import annotations

import io
import time

from workbench.diagnose import STAGES
from workbench.progress import TICK_SECONDS, StageProgress


def test_off_a_terminal_each_message_is_a_numbered_line():
    out = io.StringIO()
    say = StageProgress(STAGES, stream=out)
    assert not say.live  # StringIO is no terminal
    say("triage: metrics per bucket and onset")
    say("features: drift (1,000 rows)")
    say("model: attribution done: fine")  # a note within a stage keeps its step
    say("waiting for another process")  # not a stage: no step to show
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("... triage: metrics per bucket and onset [1/11, ")
    assert lines[1].startswith("... features: drift (1,000 rows) [2/11, ")
    assert lines[2].startswith(f"... model: attribution done: fine [{STAGES.index('model') + 1}/11")
    assert lines[3].startswith("... waiting for another process [")  # the last step stays
    assert all(line.endswith(" s]") for line in lines)


def test_on_a_terminal_one_line_is_redrawn_with_a_bar_and_ticks():
    out = io.StringIO()
    with StageProgress(("a", "b", "c", "d"), stream=out, live=True) as say:
        say("b: second of four")
        drawn = out.getvalue()
        assert drawn.startswith("\r\x1b[2K[##########..........] 2/4 b: second of four ")
        time.sleep(TICK_SECONDS * 2.5)
        assert out.getvalue().count("\r\x1b[2K") >= 3  # the clock ticks without new messages
    ended = out.getvalue()
    assert ended.endswith("\n") and "\n" not in ended[:-1]
    time.sleep(TICK_SECONDS * 1.5)
    assert out.getvalue() == ended  # closed: no more drawing


def test_every_progress_message_of_the_diagnosis_names_a_known_stage(sample_incident):
    from workbench.diagnose import diagnose

    seen: list[str] = []
    diagnose(sample_incident, progress=seen.append, attribution=False)
    stages = [m.split(":", 1)[0].split(" ", 1)[0] for m in seen]
    assert set(stages) <= set(STAGES), stages
    order = [STAGES.index(s) for s in stages]
    assert order == sorted(order)
