"""Everything lenetlab passes through environment variables, named in one place: what a child
process cannot be given as an argument. Ranks 1..n-1 of ``trainer=ddp`` on one machine are
copies of the command (training/ranks.py starts them); they learn their run folder and where to
leave their error line from here. A resumed command finds its run (or sweep) folder here too,
so the path never goes through Hydra's override grammar (any folder name resumes), and the jobs
of a continued sweep, wherever a launcher runs them, know it is one.
"""

import os
import re
import sys
from pathlib import Path

RUN_DIR = "LENETLAB_RUN_DIR"  # the folder a resume continues; the run folder of ranks 1..n-1
RANK_ERRORS = "LENETLAB_RANK_ERRORS"  # where ranks 1..n-1 leave their one line for rank 0
RUN_DIR_VALUE = f"${{oc.env:{RUN_DIR}}}"  # how a Hydra override names that folder
PEER_GONE = re.compile(r"Connection (closed|reset) by peer")  # gloo's words for a dead rank


def is_other_rank() -> bool:
    """A rank 1..n-1 started by training/ranks.py (rank 0 speaks for the run)."""
    return bool(os.environ.get(RANK_ERRORS)) and os.environ.get("LOCAL_RANK", "0") != "0"


def leave_for_rank_zero(message: str) -> None:
    Path(os.environ[RANK_ERRORS], f"rank{os.environ['LOCAL_RANK']}").write_text(message)


def lost_connection(error: BaseException) -> bool:
    """A collective failed because another rank is gone (gloo raises a plain RuntimeError)."""
    distributed = sys.modules.get("torch.distributed")
    dist_error = getattr(distributed, "DistError", ())
    return isinstance(error, dist_error) or bool(PEER_GONE.search(str(error)))
