"""Spare-process upkeep (Apache's perform_idle_server_maintenance) as pure functions.

Pure tier: a small simulator applies each Decision to a fake set of children pass by pass, as the
master would once a second, and reproduces the sequences observed on Debian's apache2 (reference
§2); then single snapshots for each rule and message, and hypothesis properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyhttpd.mpm.limits import EVENT_TAGS, WORKER_TAGS, check_prefork, check_threaded
from pyhttpd.mpm.upkeep import (
    MAX_SPAWN_RATE,
    Decision,
    Message,
    ProcessView,
    UpkeepLimits,
    UpkeepState,
    WorkerState,
    prefork_upkeep,
    replaces_one_for_one,
    startup_slots,
    threaded_upkeep,
)

S = WorkerState
MAXCLIENTS = (
    "server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
)


@dataclass
class Child:
    pid: int
    generation: int
    states: list[int]
    quiescing: bool = False
    not_accepting: bool = False


@dataclass
class Sim:
    """The master's side: fork into slots, let one idle child read the pipe of death, log."""

    mpm: str
    limits: UpkeepLimits
    generation: int = 1
    state: UpkeepState = field(default_factory=UpkeepState)
    children: dict[int, Child] = field(default_factory=dict)
    log: list[Message] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    kills: list[int] = field(default_factory=list)
    next_pid: int = 100

    def start(self) -> None:
        for slot in startup_slots(self.limits, self.views(), mpm=self.mpm):
            self.fork(slot)
        self.settle()

    def fork(self, slot: int, state: int = S.STARTING) -> None:
        width = 1 if self.mpm == "prefork" else self.limits.threads_per_child
        self.next_pid += 1
        self.children[slot] = Child(self.next_pid, self.generation, [state] * width)

    def views(self) -> list[ProcessView]:
        return [
            ProcessView(slot, c.pid, c.generation, c.quiescing, c.not_accepting, tuple(c.states))
            for slot, c in sorted(self.children.items())
        ]

    def decide(self) -> Decision:
        if self.mpm == "prefork":
            return prefork_upkeep(self.views(), self.generation, self.limits, self.state)
        event = self.mpm == "event"
        return threaded_upkeep(self.views(), self.generation, self.limits, self.state, event)

    def step(self) -> Decision:
        decision = self.decide()
        self.state = decision.state
        self.log.extend(decision.messages)
        self.batches.append(len(decision.spawn))
        self.kills.append(decision.kill)
        for slot in decision.spawn:
            self.fork(slot)
        for _ in range(decision.kill):
            self.pipe_of_death()
        self.settle()
        return decision

    def pipe_of_death(self) -> None:
        """An idle child of the running generation reads the byte and exits gracefully."""
        for slot, child in sorted(self.children.items(), reverse=True):
            if child.quiescing or child.generation != self.generation:
                continue
            if S.READY in child.states:
                if all(s <= S.READY for s in child.states):
                    del self.children[slot]  # exits at once; reaped before the next pass
                else:
                    child.quiescing = True
                    child.states = [S.DEAD if s <= S.READY else s for s in child.states]
                return

    def settle(self) -> None:
        """A second passes: children that were starting are now ready."""
        for child in self.children.values():
            child.states = [S.READY if s == S.STARTING else s for s in child.states]

    def run(self, passes: int) -> None:
        for _ in range(passes):
            self.step()

    def tags(self) -> list[str]:
        return [m.tag for m in self.log if m.tag]


def prefork_limits(**values: int) -> UpkeepLimits:
    settings = {"ServerLimit": 256, "MaxRequestWorkers": 256, "StartServers": 5}
    settings |= {"MinSpareServers": 5, "MaxSpareServers": 10} | values
    return UpkeepLimits.from_settings(check_prefork(settings).corrections)


def threaded_limits(event: bool = True, **values: int) -> UpkeepLimits:
    settings = {"ServerLimit": 8, "ThreadLimit": 64, "ThreadsPerChild": 10}
    settings |= {"MaxRequestWorkers": 40, "StartServers": 4}
    settings |= {"MinSpareThreads": 10, "MaxSpareThreads": 30} | values
    check = check_threaded(settings, EVENT_TAGS if event else WORKER_TAGS)
    return UpkeepLimits.from_settings(check.corrections)


def view(slot: int, *states: int, gen: int = 1, quiescing: bool = False, na: bool = False):
    return ProcessView(slot, 1000 + slot, gen, quiescing, na, tuple(states))


# --- the observed sequences ---------------------------------------------------------------------


def test_prefork_start_1_min_10_max_12_doubles_overshoots_then_kills_one_per_pass() -> None:
    sim = Sim("prefork", prefork_limits(StartServers=1, MinSpareServers=10, MaxSpareServers=12))
    sim.start()
    assert len(sim.children) == 1
    totals = []
    for _ in range(10):
        sim.step()
        totals.append(len(sim.children))
    assert sim.batches == [1, 2, 4, 8, 0, 0, 0, 0, 0, 0]
    assert totals == [2, 4, 8, 16, 15, 14, 13, 12, 12, 12]
    assert sim.kills == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert sim.log == [
        Message(
            "info",
            "AH00162",
            "server seems busy, (you may need to increase StartServers, or Min/MaxSpareServers), "
            "spawning 8 children, there are 8 idle, and 8 total children",
        )
    ]
    assert sim.state.idle_spawn_rate == 1


def test_event_start_4_threads_10_max_spare_30_kills_one_then_stable_at_3() -> None:
    sim = Sim("event", threaded_limits(StartServers=4))
    sim.start()
    assert sorted(sim.children) == [0, 1, 2, 3]
    sim.run(6)
    assert sim.kills == [1, 0, 0, 0, 0, 0]
    assert sim.batches == [0] * 6
    assert len(sim.children) == 3
    assert str(sim.log[0]) == (
        "Shutting down one child: active 4/4, total 4/4/8, idle threads 40, max workers 40"
    )
    assert sim.log[0].level == "trace5"


def test_worker_same_settings_kills_one_then_stable() -> None:
    sim = Sim("worker", threaded_limits(event=False, StartServers=4))
    sim.start()
    sim.run(4)
    assert sim.kills == [1, 0, 0, 0] and len(sim.children) == 3 and sim.log == []


def test_threaded_rate_doubles_to_32_then_stays() -> None:
    limits = threaded_limits(
        ServerLimit=200, ThreadsPerChild=1, MaxRequestWorkers=200, StartServers=1
    )
    limits = UpkeepLimits(**{**limits.__dict__, "min_spare_threads": 150, "max_spare_threads": 199})
    sim = Sim("event", limits)
    sim.start()
    sim.run(7)
    assert sim.batches == [1, 2, 4, 8, 16, 32, 32]
    busy = [m for m in sim.log if m.tag == "AH00486"]
    assert len(busy) == 4
    assert busy[0].text.endswith(
        "spawning 8 children, there are around 8 idle threads, 8 active children, and 8 "
        "children that are shutting down"
    )


# --- spawn rate ---------------------------------------------------------------------------------


def spawning_prefork(state: UpkeepState) -> Sim:
    limits = prefork_limits(
        ServerLimit=5000, MaxRequestWorkers=5000, StartServers=1, MinSpareServers=1000
    )
    sim = Sim("prefork", limits, state=state)
    sim.start()
    return sim


def test_rate_is_capped_at_32() -> None:
    sim = spawning_prefork(UpkeepState())
    sim.run(8)
    assert sim.batches == [1, 2, 4, 8, 16, 32, 32, 32]
    assert sim.state.idle_spawn_rate == MAX_SPAWN_RATE
    assert sim.tags() == ["AH00162"] * 5  # logged on every pass at rate >= 8, not once


def test_hold_off_after_graceful_suppresses_doubling_for_ten_spawning_passes() -> None:
    sim = spawning_prefork(UpkeepState().after_graceful())
    sim.run(14)
    assert sim.batches == [1] * 10 + [1, 2, 4, 8]
    assert sim.state.hold_off_on_exponential_spawning == 0


def test_a_pass_within_the_spares_resets_the_rate() -> None:
    limits = prefork_limits(MinSpareServers=2, MaxSpareServers=4)
    decision = prefork_upkeep(
        [view(0, S.READY), view(1, S.READY), view(2, S.BUSY_READ)], 1, limits,
        UpkeepState(idle_spawn_rate=16),
    )  # fmt: skip
    assert decision == Decision(UpkeepState(idle_spawn_rate=1))


def test_a_sick_child_cuts_the_rate() -> None:
    state = UpkeepState(idle_spawn_rate=16).child_sick()
    assert state.idle_spawn_rate == 1 and state.sick_child_detected


# --- MaxRequestWorkers and the full scoreboard ----------------------------------------------------


def test_prefork_maxclients_logged_once() -> None:
    sim = Sim("prefork", prefork_limits(MaxRequestWorkers=3, StartServers=3, MinSpareServers=2))
    sim.start()
    for child in sim.children.values():
        child.states = [S.BUSY_WRITE]
    sim.run(4)
    assert sim.log == [Message("error", "AH00161", MAXCLIENTS)]
    assert sim.batches == [0] * 4 and sim.state.idle_spawn_rate == 1


def busy_sim(mpm: str, **values: int) -> Sim:
    sim = Sim(mpm, threaded_limits(event=mpm == "event", **values))
    sim.start()
    for child in sim.children.values():
        child.states = [S.BUSY_WRITE] * len(child.states)
    return sim


def test_worker_maxclients_then_near_maxclients_each_logged_once() -> None:
    sim = busy_sim("worker", MaxRequestWorkers=20, StartServers=2)
    sim.run(3)
    assert sim.log == [Message("error", "AH00286", MAXCLIENTS)]
    sim.children[0].states[0] = S.READY
    sim.run(3)
    assert sim.tags() == ["AH00286", "AH00287"]
    assert sim.log[1].text == (
        "server is within MinSpareThreads of MaxRequestWorkers, consider raising the "
        "MaxRequestWorkers setting"
    )


def test_event_checks_maxclients_before_free_slots() -> None:
    sim = busy_sim("event", MaxRequestWorkers=20, StartServers=2)  # ServerLimit 8: free slots
    sim.run(2)
    assert sim.log == [Message("error", "AH00484", MAXCLIENTS)] and sim.batches == [0, 0]
    sim.children[1].states[3] = S.READY
    sim.run(2)
    assert sim.tags() == ["AH00484", "AH10159"]


def test_worker_scoreboard_full_logged_every_pass() -> None:
    limits = threaded_limits(event=False, MaxRequestWorkers=20)
    views = [view(0, *[S.GRACEFUL] * 9, S.BUSY_WRITE, gen=0, quiescing=True)]
    views.append(view(1, *[S.BUSY_WRITE] * 10))
    for _ in range(2):
        decision = threaded_upkeep(views, 1, limits, UpkeepState(), False)
        assert decision.messages == (
            Message("error", "AH00288", "scoreboard is full, not at MaxRequestWorkers"),
        )
        assert decision.spawn == () and decision.state.idle_spawn_rate == 1


def test_event_scoreboard_full() -> None:
    limits = threaded_limits(ServerLimit=2, MaxRequestWorkers=20)
    views = [view(slot, *[S.GRACEFUL] * 10, gen=0, quiescing=True) for slot in (0, 1)]
    decision = threaded_upkeep(views, 1, limits, UpkeepState(idle_spawn_rate=4), True)
    text = "scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit."
    assert decision.messages == (Message("error", "AH03490", text),)
    assert decision.state.idle_spawn_rate == 1


# --- who counts as idle -----------------------------------------------------------------------


def test_quiescing_and_old_generation_idle_threads_are_not_counted() -> None:
    limits = threaded_limits(event=False, MinSpareThreads=15, MaxSpareThreads=26)
    ready = [S.READY] * 10
    views = [view(0, *ready), view(1, *ready, quiescing=True), view(2, *ready, gen=0)]
    for event in (False, True):
        decision = threaded_upkeep(iter(views), 1, limits, UpkeepState(), event)
        assert decision.spawn == (3,) and decision.kill == 0  # idle 10 < 15, not 30


def test_event_not_accepting_threads_are_not_idle_worker_ignores_the_flag() -> None:
    limits = threaded_limits(MinSpareThreads=15, MaxSpareThreads=26)
    views = [view(0, *[S.READY] * 10), view(1, *[S.READY] * 10, na=True)]
    assert threaded_upkeep(views, 1, limits, UpkeepState(), True).spawn == (2,)
    worker = threaded_upkeep(views, 1, limits, UpkeepState(), False)
    assert (worker.spawn, worker.kill, worker.messages) == ((), 0, ())


def test_prefork_counts_starting_as_idle_and_looks_at_status_only() -> None:
    limits = prefork_limits(MinSpareServers=2, MaxSpareServers=3)
    views = [view(0, S.STARTING), view(1, S.READY, gen=0), view(2, S.GRACEFUL), view(3, S.DEAD)]
    assert prefork_upkeep(views, 1, limits, UpkeepState()) == Decision(UpkeepState())


# --- event's process limits -------------------------------------------------------------------


def test_event_holds_back_a_kill_while_stopping_children_crowd_the_scoreboard() -> None:
    limits = threaded_limits(
        ServerLimit=4, MaxRequestWorkers=20, MinSpareThreads=1, MaxSpareThreads=12
    )
    old = [view(s, *[S.BUSY_WRITE] * 10, gen=0, quiescing=True) for s in (0, 1)]
    views = old + [view(2, *[S.READY] * 10), view(3, *[S.READY] * 10)]
    decision = threaded_upkeep(views, 1, limits, UpkeepState(), True)
    assert decision.kill == 0 and decision.state.idle_spawn_rate == 1
    assert str(decision.messages[0]) == (
        "Not shutting down one child: active 2/2, total 4/4/4, idle threads 20, max workers 20"
    )
    roomy = UpkeepLimits(**{**limits.__dict__, "server_limit": 8})
    assert threaded_upkeep(views, 1, roomy, UpkeepState(), True).kill == 1


def test_event_spawns_only_up_to_the_active_process_limit() -> None:
    limits = threaded_limits(MaxRequestWorkers=20, MinSpareThreads=15, MaxSpareThreads=26)
    views = [view(0, *[S.BUSY_READ] * 10)]
    views += [view(s, *[S.GRACEFUL] * 10, gen=0, quiescing=True) for s in (1, 2)]
    decision = threaded_upkeep(views, 1, limits, UpkeepState(idle_spawn_rate=4), True)
    assert decision.spawn == (3,) and decision.state.idle_spawn_rate == 8


def test_event_at_the_active_limit_cancels_spawning_and_resets_the_rate() -> None:
    limits = threaded_limits(MaxRequestWorkers=20, MinSpareThreads=15, MaxSpareThreads=26)
    views = [view(s, *[S.STARTING] * 10, gen=0) for s in (0, 1)]  # active, not yet idle
    state = UpkeepState(idle_spawn_rate=16, hold_off_on_exponential_spawning=3)
    decision = threaded_upkeep(views, 1, limits, state, True)
    assert decision.spawn == ()
    assert decision.state == UpkeepState(idle_spawn_rate=1, hold_off_on_exponential_spawning=3)
    assert decision.messages[0].level == "trace1"
    assert decision.messages[0].text == (
        "server is at active daemons limit, spawning of 6 children cancelled: active 2/2, "
        "total 2/2/8, rate 16"
    )


def test_worker_prefers_totally_free_slots_and_squats_a_quiescing_ones_dead_threads() -> None:
    limits = threaded_limits(event=False, ThreadsPerChild=2, MaxRequestWorkers=6)
    limits = UpkeepLimits(**{**limits.__dict__, "min_spare_threads": 5, "max_spare_threads": 8})
    views = [view(0, S.DEAD, S.BUSY_WRITE, quiescing=True), view(2, S.BUSY_WRITE, S.BUSY_WRITE)]
    decision = threaded_upkeep(views, 1, limits, UpkeepState(idle_spawn_rate=2), False)
    assert decision.spawn == (1, 0)
    event = threaded_upkeep(views, 1, limits, UpkeepState(idle_spawn_rate=2), True)
    assert event.spawn == (1, 3)  # event only uses slots without a process


# --- the sick-child give-up rule ----------------------------------------------------------------


def test_sick_child_without_any_healthy_child_gives_up() -> None:
    limits = threaded_limits()
    views = [view(0, *[S.STARTING] * 10)]
    for event, tag in ((False, "AH02325"), (True, "AH02324")):
        decision = threaded_upkeep(views, 1, limits, UpkeepState().child_sick(), event)
        assert decision.give_up and decision.spawn == () and decision.kill == 0
        assert decision.messages == (
            Message(
                "alert",
                tag,
                "A resource shortage or other unrecoverable failure was encountered before any "
                "child process initialized successfully... httpd is exiting!",
            ),
        )


def test_one_healthy_child_ever_clears_the_sick_flag_for_good() -> None:
    limits = threaded_limits()
    healthy = threaded_upkeep([view(0, *[S.READY] * 10)], 1, limits, UpkeepState(), True)
    assert healthy.state.had_healthy_child and not healthy.give_up
    later = threaded_upkeep(
        [view(0, *[S.STARTING] * 10)], 1, limits, healthy.state.child_sick(), True
    )
    assert not later.give_up and not later.state.sick_child_detected
    assert UpkeepState().old_generation_fatal().sick_child_detected


# --- start-up and the 1-for-1 replacement ---------------------------------------------------------


def test_startup_slots() -> None:
    assert startup_slots(prefork_limits()) == (0, 1, 2, 3, 4)
    taken = [view(1, S.READY), view(3, S.DEAD)]  # prefork: a DEAD status frees the slot
    assert startup_slots(prefork_limits(), taken, 3) == (0, 2, 3)
    limits = threaded_limits(StartServers=2)
    old = [view(0, *[S.GRACEFUL] * 10, gen=0), view(1, *[S.GRACEFUL] * 10, gen=0)]
    assert startup_slots(limits, old, mpm="event") == (2, 3)
    full = old + [view(2, S.READY), view(3, S.READY)]
    assert startup_slots(limits, full, 2, mpm="worker") == ()  # only within the process limit
    assert startup_slots(limits, full, 2, mpm="event") == (4, 5)  # every slot to ServerLimit
    assert startup_slots(threaded_limits(StartServers=10), mpm="event") == (0, 1, 2, 3)


def test_replaces_one_for_one() -> None:
    limits = threaded_limits()
    assert replaces_one_for_one(2, 1, limits, mpm="worker")
    assert not replaces_one_for_one(5, 1, limits, mpm="worker")
    assert replaces_one_for_one(5, 1, limits, mpm="event")
    assert not replaces_one_for_one(2, 0, limits, mpm="event")
    assert not replaces_one_for_one(2, 1, limits, mpm="prefork", sick=True)


def test_limits_from_settings() -> None:
    limits = threaded_limits(MaxRequestWorkers=130, ThreadsPerChild=25, ServerLimit=16)
    assert (limits.max_request_workers, limits.process_limit) == (125, 5)
    assert limits.max_spare_threads == 36  # MaxSpare >= MinSpare + ThreadsPerChild + 1
    assert prefork_limits(MaxSpareServers=1).max_spare_servers == 6


# --- properties -----------------------------------------------------------------------------------

STATES = st.sampled_from(list(WorkerState))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, UpkeepLimits, list[ProcessView], UpkeepState]:
    mpm = draw(st.sampled_from(["prefork", "worker", "event"]))
    server_limit = draw(st.integers(1, 24))
    width = 1 if mpm == "prefork" else draw(st.integers(1, 6))
    process_limit = draw(st.integers(1, server_limit))
    low = draw(st.integers(1, 40))
    limits = UpkeepLimits(
        start_servers=1,
        server_limit=server_limit,
        max_request_workers=process_limit * width,
        process_limit=process_limit,
        min_spare_servers=low,
        max_spare_servers=low + draw(st.integers(1, 20)),
        threads_per_child=width,
        min_spare_threads=low,
        max_spare_threads=low + width + draw(st.integers(1, 20)),
    )
    bound = process_limit if mpm == "prefork" else server_limit
    slots = draw(st.sets(st.integers(0, bound - 1)))
    views = [
        ProcessView(
            slot,
            draw(st.sampled_from([0, 100 + slot])) if mpm == "prefork" else 100 + slot,
            draw(st.integers(0, 1)),
            draw(st.booleans()),
            draw(st.booleans()),
            tuple(draw(st.lists(STATES, min_size=width, max_size=width))),
        )
        for slot in sorted(slots)
    ]
    state = UpkeepState(
        idle_spawn_rate=draw(st.sampled_from([1, 2, 4, 8, 16, 32])),
        hold_off_on_exponential_spawning=draw(st.integers(0, 10)),
        maxclients_reported=draw(st.booleans()),
        near_maxclients_reported=draw(st.booleans()),
        sick_child_detected=draw(st.booleans()),
        had_healthy_child=draw(st.booleans()),
    )
    return mpm, limits, views, state


def decide(mpm: str, limits: UpkeepLimits, views: list[ProcessView], state: UpkeepState):
    if mpm == "prefork":
        return prefork_upkeep(views, 1, limits, state)
    return threaded_upkeep(views, 1, limits, state, mpm == "event")


ONCE = {"AH00161", "AH00286", "AH00287", "AH00484", "AH10159"}


# Deterministic (a fixed example sequence) and tolerant of a loaded CI machine's speed.
@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_a_decision_stays_within_the_limits(scenario) -> None:
    mpm, limits, views, state = scenario
    decision = decide(mpm, limits, views, state)
    spawn = decision.spawn
    assert decision.kill in (0, 1)
    assert not (decision.kill and spawn)
    assert len(set(spawn)) == len(spawn) <= state.idle_spawn_rate <= MAX_SPAWN_RATE
    assert decision.state.idle_spawn_rate in (1, 2, 4, 8, 16, 32)
    assert all(0 <= slot < limits.server_limit for slot in spawn)
    live = {v.slot: v for v in views if v.pid}
    if mpm == "prefork":
        taken = {v.slot for v in views if v.worker_states[0] != S.DEAD}
        assert not taken & set(spawn)
        assert not spawn or len(taken) + len(spawn) <= limits.process_limit
    elif mpm == "worker":
        assert all(slot < limits.process_limit for slot in spawn)
        assert all(slot not in live or live[slot].quiescing for slot in spawn)
    else:
        active = sum(1 for v in live.values() if not v.quiescing)
        assert not set(spawn) & set(live)
        assert not spawn or active + len(spawn) <= limits.process_limit
    again = decide(mpm, limits, views, decision.state)
    assert not {m.tag for m in again.messages} & ONCE  # "only report this condition once"
