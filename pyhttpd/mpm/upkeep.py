"""Spare-process upkeep: Apache's perform_idle_server_maintenance, as pure functions.

Owns the master's once-a-second decision, after httpd 2.4.58's prefork.c, worker.c and event.c:
count the idle workers in a scoreboard snapshot, then tell one child to exit through the pipe of
death, or fork up to idle_spawn_rate children into free slots (the rate doubling 1, 2, 4 … 32,
not while held off after a graceful restart), or do nothing; with Apache's messages, each "only
reported once" one remembered in the state. Also startup_children's slot choice and the
"1-for-1 replacement" test the master applies while reaping after a graceful restart.

Never knows processes, pipes, signals, the clock or the scoreboard module: the snapshot types are
defined here. The master (server/) turns its scoreboard snapshot into ProcessViews, calls one of
these functions on each 1-second pass that reaped no child, carries out the Decision and keeps the
returned UpkeepState for the next pass. Apache's retained max_daemons_limit is derived from the
snapshot (highest live slot + 1). One listener bucket, as with ListenCoresBucketsRatio 0.
Runs in the master process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pyhttpd.scoreboard import WorkerState

MAX_SPAWN_RATE = 32
GRACEFUL_HOLD_OFF = 10  # passes without doubling after a graceful restart

MAXCLIENTS = (
    "server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting"
)
NEAR_MAXCLIENTS = (
    "server is within MinSpareThreads of MaxRequestWorkers, consider raising the "
    "MaxRequestWorkers setting"
)
SICK = (
    "A resource shortage or other unrecoverable failure was encountered before any child "
    "process initialized successfully... httpd is exiting!"
)


@dataclass(frozen=True)
class ProcessView:
    """One scoreboard process slot. prefork has one worker state per slot; pid 0 = empty slot."""

    slot: int
    pid: int
    generation: int
    quiescing: bool = False
    not_accepting: bool = False
    worker_states: tuple[int, ...] = ()


@dataclass(frozen=True)
class UpkeepLimits:
    """The MPM's corrected settings (pyhttpd.mpm.limits), as upkeep reads them."""

    start_servers: int
    server_limit: int
    max_request_workers: int
    process_limit: int
    min_spare_servers: int = 1
    max_spare_servers: int = 2
    threads_per_child: int = 1
    min_spare_threads: int = 1
    max_spare_threads: int = 3

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> UpkeepLimits:
        """Build from corrected settings (any object with `get`, e.g. a dict or a Scope)."""

        def get(key: str, default: int) -> int:
            value = settings.get(key, None)
            return default if value is None else int(value)

        threads = get("ThreadsPerChild", 1)
        workers = get("MaxRequestWorkers", 1)
        return cls(
            start_servers=get("StartServers", 1),
            server_limit=get("ServerLimit", 1),
            max_request_workers=workers,
            process_limit=get("ProcessLimit", max(1, workers // threads)),
            min_spare_servers=get("MinSpareServers", 1),
            max_spare_servers=get("MaxSpareServers", 2),
            threads_per_child=threads,
            min_spare_threads=get("MinSpareThreads", 1),
            max_spare_threads=get("MaxSpareThreads", 3),
        )


@dataclass(frozen=True)
class UpkeepState:
    """What Apache keeps in `retained` between passes (and across restarts)."""

    idle_spawn_rate: int = 1
    hold_off_on_exponential_spawning: int = 0
    maxclients_reported: bool = False
    near_maxclients_reported: bool = False
    sick_child_detected: bool = False
    had_healthy_child: bool = False

    def after_graceful(self) -> UpkeepState:
        """A graceful restart: give the system 10 spawning passes before doubling again."""
        return replace(self, hold_off_on_exponential_spawning=GRACEFUL_HOLD_OFF)

    def child_sick(self) -> UpkeepState:
        """A child exited with APEXIT_CHILDSICK (resource shortage): minimise the fork rate and
        (worker/event) check on the next pass whether any child ever started fully."""
        return replace(self, idle_spawn_rate=1, sick_child_detected=True)

    def old_generation_fatal(self) -> UpkeepState:
        """worker/event: a child of a previous generation exited fatally (AH00290/AH00487)."""
        return replace(self, sick_child_detected=True)


@dataclass(frozen=True)
class Message:
    """One error-log line: LogLevel name, AH tag ('' for Apache's untagged trace lines), text."""

    level: str
    tag: str
    text: str

    def __str__(self) -> str:
        return f"{self.tag}: {self.text}" if self.tag else self.text


@dataclass(frozen=True)
class Decision:
    """What the master does now: fork into `spawn` (in order), write `kill` bytes (0 or 1) to the
    pipe of death, log `messages`; `give_up` means shut down as child_fatal (AH02324/AH02325)."""

    state: UpkeepState
    spawn: tuple[int, ...] = ()
    kill: int = 0
    messages: tuple[Message, ...] = ()
    give_up: bool = False


def _states(view: ProcessView | None, width: int) -> tuple[int, ...]:
    """A slot's first `width` worker states; cells missing from the view are DEAD."""
    states = view.worker_states[:width] if view is not None else ()
    return states + (WorkerState.DEAD,) * (width - len(states))


def _grow(state: UpkeepState) -> UpkeepState:
    """After a spawning pass: double the rate up to 32, unless held off after a graceful."""
    if state.hold_off_on_exponential_spawning:
        return replace(
            state, hold_off_on_exponential_spawning=state.hold_off_on_exponential_spawning - 1
        )
    if state.idle_spawn_rate < MAX_SPAWN_RATE:
        return replace(state, idle_spawn_rate=state.idle_spawn_rate * 2)
    return state


def prefork_upkeep(
    processes: Iterable[ProcessView], generation: int, limits: UpkeepLimits, state: UpkeepState
) -> Decision:
    """prefork's perform_idle_server_maintenance: idle *processes* against Min/MaxSpareServers.

    prefork looks at slot status only, not at generations: after a graceful restart the master
    marks every old child's slot GRACEFUL, as Apache does, so `generation` goes unused here.
    """
    status = {view.slot: _states(view, 1)[0] for view in processes}
    used = max((slot + 1 for slot, s in status.items() if s != WorkerState.DEAD), default=0)
    rate = state.idle_spawn_rate
    free: list[int] = []
    idle = total = 0
    for slot in range(limits.max_request_workers):
        if slot >= used and len(free) == rate:
            break
        current = status.get(slot, WorkerState.DEAD)
        if current == WorkerState.DEAD:
            if len(free) < rate:  # try to keep children numbers as low as possible
                free.append(slot)
        else:
            if current <= WorkerState.READY:  # a starting child counts as idle, on purpose
                idle += 1
            total += 1
    if idle > limits.max_spare_servers:
        return Decision(replace(state, idle_spawn_rate=1), kill=1)
    if idle >= limits.min_spare_servers:
        return Decision(replace(state, idle_spawn_rate=1))
    if not free:
        messages: tuple[Message, ...] = ()
        if not state.maxclients_reported:
            messages = (Message("error", "AH00161", MAXCLIENTS),)
        return Decision(
            replace(state, idle_spawn_rate=1, maxclients_reported=True), messages=messages
        )
    if rate >= 8:
        text = (
            "server seems busy, (you may need to increase StartServers, or "
            f"Min/MaxSpareServers), spawning {rate} children, there are {idle} idle, and "
            f"{total} total children"
        )
        messages = (Message("info", "AH00162", text),)
    else:
        messages = ()
    return Decision(_grow(state), spawn=tuple(free), messages=messages)


def threaded_upkeep(
    processes: Iterable[ProcessView],
    generation: int,
    limits: UpkeepLimits,
    state: UpkeepState,
    event: bool,
) -> Decision:
    """worker's and event's perform_idle_server_maintenance: idle *threads* across the server.

    A thread is idle when it is starting or ready in a live process of the current generation
    that is not quiescing (event: and still accepting). worker walks the process limit and may
    put a new child into the slot of a quiescing one that has dead threads ("squatting", the old
    child then finishes outside the scoreboard); event walks every slot up to ServerLimit, keeps
    only the *active* (non-quiescing) processes within the process limit and holds back kills
    while stopping processes crowd the scoreboard.
    """
    views = {view.slot: view for view in processes}
    live = {slot: view for slot, view in views.items() if view.pid}
    width = limits.threads_per_child
    used = max(live, default=-1) + 1
    rate = state.idle_spawn_rate
    free: list[int] = []
    totally_free = idle = active_threads = total_non_dead = 0
    healthy = state.had_healthy_child
    for slot in range(limits.server_limit if event else limits.process_limit):
        if slot >= used and (totally_free if not event else len(free)) == rate:
            break  # all live processes examined and enough empty slots found
        view = live.get(slot)
        states = _states(view if view is not None else views.get(slot), width)
        child_active = 0
        if view is not None:
            counted = (
                not view.quiescing
                and view.generation == generation
                and not (event and view.not_accepting)
            )
            for current in states:
                if current <= WorkerState.READY and counted:
                    idle += 1
                if WorkerState.READY <= current < WorkerState.GRACEFUL:
                    child_active += 1
        active_threads += child_active
        if event:
            if view is not None:
                healthy = healthy or child_active == width
            elif len(free) < rate:
                free.append(slot)
            continue
        dead = [c in (WorkerState.DEAD, WorkerState.GRACEFUL) for c in states]
        if (
            WorkerState.DEAD in states
            and totally_free < rate
            and len(free) < MAX_SPAWN_RATE
            and (view is None or view.quiescing)
        ):
            if all(dead):  # prefer totally free slots: move a half-used one to the back
                if totally_free < len(free):
                    free.append(free[totally_free])
                    free[totally_free] = slot
                else:
                    free.append(slot)
                totally_free += 1
            else:
                free.append(slot)
        elif child_active == width:
            healthy = True
        if WorkerState.GRACEFUL not in states:
            total_non_dead += 1
    state = replace(state, had_healthy_child=healthy)

    if state.sick_child_detected:
        if not healthy:  # no child ever fully initialized: give up
            tag = "AH02324" if event else "AH02325"
            return Decision(state, messages=(Message("alert", tag, SICK),), give_up=True)
        state = replace(state, sick_child_detected=False)

    total = len(live)
    active = sum(1 for view in live.values() if not view.quiescing)
    counts = f"active {active}/{limits.process_limit}, total {total}/{used}/{limits.server_limit}"
    if idle > limits.max_spare_threads:
        state = replace(state, idle_spawn_rate=1)
        if not event:
            return Decision(state, kill=1)
        do_kill = active == total or limits.server_limit - total > limits.process_limit
        text = (
            f"{'S' if do_kill else 'Not s'}hutting down one child: {counts}, idle threads "
            f"{idle}, max workers {limits.max_request_workers}"
        )
        return Decision(state, kill=int(do_kill), messages=(Message("trace5", "", text),))
    if idle >= limits.min_spare_threads:
        return Decision(replace(state, idle_spawn_rate=1))

    at_max = active_threads >= limits.max_request_workers
    if (event and at_max) or (not event and not free):
        messages: list[Message] = []
        if at_max and idle == 0:
            if not state.maxclients_reported:
                messages.append(Message("error", "AH00484" if event else "AH00286", MAXCLIENTS))
            state = replace(state, maxclients_reported=True)
        elif at_max:
            if not state.near_maxclients_reported:
                tag = "AH10159" if event else "AH00287"
                messages.append(Message("error", tag, NEAR_MAXCLIENTS))
            state = replace(state, near_maxclients_reported=True)
        else:
            messages.append(
                Message("error", "AH00288", "scoreboard is full, not at MaxRequestWorkers")
            )
        return Decision(replace(state, idle_spawn_rate=1), messages=tuple(messages))
    if not free:  # event only
        text = "scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit."
        return Decision(
            replace(state, idle_spawn_rate=1), messages=(Message("error", "AH03490", text),)
        )

    count = min(len(free), rate)
    messages = []
    if event and count + active > limits.process_limit:
        if active < limits.process_limit:
            count = limits.process_limit - active
        else:
            text = (
                f"server is at active daemons limit, spawning of {count} children cancelled: "
                f"{counts}, rate {rate}"
            )
            messages.append(Message("trace1", "", text))
            # reset the spawning rate and prevent its growth below
            state = replace(
                state,
                idle_spawn_rate=1,
                hold_off_on_exponential_spawning=state.hold_off_on_exponential_spawning + 1,
            )
            count = 0
    if state.idle_spawn_rate >= 8:
        busy = (
            "server seems busy, (you may need to increase StartServers, ThreadsPerChild or "
            f"Min/MaxSpareThreads), spawning {count} children, there are around {idle} idle "
            "threads, "
        )
        if event:
            text = f"{busy}{active} active children, and {total} children that are shutting down"
            messages.append(Message("info", "AH00486", text))
        else:
            messages.append(
                Message("info", "AH00289", f"{busy}and {total_non_dead} total children")
            )
    return Decision(_grow(state), spawn=tuple(free[:count]), messages=tuple(messages))


def _occupied(view: ProcessView, mpm: str) -> bool:
    """prefork judges a slot by its status, worker and event by its pid."""
    if mpm == "prefork":
        return _states(view, 1)[0] != WorkerState.DEAD
    return view.pid != 0


def startup_slots(
    limits: UpkeepLimits,
    processes: Iterable[ProcessView] = (),
    count: int | None = None,
    *,
    mpm: str = "prefork",
) -> tuple[int, ...]:
    """startup_children: the first `count` free slots (default StartServers, capped at the
    process limit). Also "picking up the slack" of remaining_children_to_start after a graceful
    restart. prefork and worker search the process limit, event every slot up to ServerLimit."""
    number = min(limits.start_servers, limits.process_limit) if count is None else count
    taken = {view.slot for view in processes if _occupied(view, mpm)}
    bound = limits.server_limit if mpm == "event" else limits.process_limit
    free = [slot for slot in range(bound) if slot not in taken]
    return tuple(free[: max(0, number)])


def replaces_one_for_one(
    slot: int, remaining: int, limits: UpkeepLimits, *, mpm: str = "prefork", sick: bool = False
) -> bool:
    """While remaining_children_to_start > 0 after a graceful restart, a reaped child's slot is
    refilled at once (then remaining drops by one); never for a sick child, and for prefork and
    worker only within the process limit."""
    if sick or remaining <= 0:
        return False
    return mpm == "event" or slot < limits.process_limit
