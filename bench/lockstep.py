"""Training pipelines timed in lockstep: each in a greenlet of one thread, taking turns one
training step at a time, so that a slow moment of a shared machine falls on all of them alike.

Back-to-back runs of the same two pipelines spread by 10-30 % on the 2-core machines this
project is measured on (docs/benchmarks.md, issue 26), more than the few points being judged.
Greenlets rather than threads: one thread calls into torch, so its OpenMP team is the one a
single run has (in threads each step took 13 -> 17 ms, probably a second team's idle workers
spinning beside the other's steps), and nothing waits on the OS scheduler to hand over. Each
step is timed from its turn's start to its end (``step_done``: after Lightning's
``on_train_batch_end``), so the data fetch, the step, its hooks and the loop's tail of the
step before are in it.

    def lenetlab(player):  # a Lightning pipeline: TakeTurns the last of its callbacks
        trainer.callbacks.append(TakeTurns(player))
        trainer.fit(model, datamodule=datamodule)

    def bare(player):  # any loop: step_done after each step
        for _ in range(steps):
            train_one_step()
            player.step_done()

    seconds = Lockstep(warmup=20).run([lenetlab, bare])  # each one's steps after warm-up
    speed = speed_ratio(seconds[0], against=seconds[1])
"""

import time
from collections.abc import Callable

import lightning as L
import torch
from greenlet import greenlet


class Lockstep:
    def __init__(self, warmup: int, device: torch.device | str = "cpu"):
        self.warmup, self.device = warmup, torch.device(device)

    def run(self, pipelines: list[Callable[["Player"], None]]) -> list[list[float]]:
        """Each ``pipeline(player)`` in turn, a step at a time, until all have returned: the
        seconds of each one's steps after the warm-up. A pipeline's error is raised here."""
        scheduler = greenlet.getcurrent()
        players = [Player(self, scheduler) for _ in pipelines]
        turns = [greenlet(pipeline) for pipeline in pipelines]
        while any(not turn.dead for turn in turns):
            for turn, player in zip(turns, players, strict=True):
                if not turn.dead:
                    player.resumed = time.perf_counter()
                    turn.switch(player)  # the pipeline's argument at its start, unused after
        return [player.seconds for player in players]


class Player:
    """One pipeline's side of the turns."""

    def __init__(self, lockstep: Lockstep, scheduler: greenlet):
        self.lockstep, self.scheduler = lockstep, scheduler
        self.steps = 0
        self.seconds: list[float] = []
        self.resumed = 0.0

    def step_done(self) -> None:
        """Ends this pipeline's turn; returns at the start of its next."""
        if self.lockstep.device.type == "cuda":
            torch.cuda.synchronize(self.lockstep.device)  # the step has run, not just queued
        seconds = time.perf_counter() - self.resumed
        self.steps += 1
        if self.steps > self.lockstep.warmup:
            self.seconds.append(seconds)
        self.scheduler.switch()


class TakeTurns(L.Callback):
    """A Lightning pipeline's turns: the last of its callbacks, so that the others' step hooks
    are in its steps."""

    def __init__(self, player: Player):
        self.player = player

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.player.step_done()


def speed_ratio(seconds: list[float], against: list[float]) -> float:
    """The speed of the pipeline whose steps took ``seconds`` against the one whose steps took
    ``against``, over the steps both took."""
    steps = min(len(seconds), len(against))
    return sum(against[:steps]) / sum(seconds[:steps])
