"""closed-loop-rr in SimPy: the issue 7 calibration point "SimPy ≈ 0.13 M simulated requests/s".

The queueing model of `experiments/bench/closed-loop-rr.toml`, written the textbook SimPy way
(one process per client, one `simpy.Resource` per app node), as `examples/bare_loop.rs` writes
it as a bare Rust event loop: 1,000 closed-loop clients, exponential think time with mean 1 s,
20 ms client-balancer and 100 µs balancer-app latency, plain round robin over 4 single-worker
nodes with FIFO queues, exponential service with mean 3 ms, 500 s simulated. No sessions, no
balancer state beyond a counter, no observations but a count of responses.

    pip install simpy==4.1.2
    python3 examples/simpy_closed_loop_rr.py [repeats]

prints the median and best wall time of `repeats` runs (default 3) and the requests per second
they give, in the same columns as `bare_loop`.
"""

import random
import statistics
import sys
import time

import simpy

CLIENTS = 1_000
NODES = 4
THINK_MEAN_S = 1.0
SERVICE_MEAN_S = 3e-3
LAT_CB_S = 20e-3
LAT_BA_S = 100e-6
HORIZON_S = 500.0


def run(seed):
    """Runs the model to the horizon; returns the responses received."""
    rng = random.Random(seed)
    env = simpy.Environment()
    nodes = [simpy.Resource(env, capacity=1) for _ in range(NODES)]
    state = {"next_node": 0, "responses": 0}

    def client():
        yield env.timeout(rng.expovariate(1 / THINK_MEAN_S) + LAT_CB_S)
        while True:
            n = state["next_node"]
            state["next_node"] = (n + 1) % NODES
            yield env.timeout(LAT_BA_S)
            with nodes[n].request() as slot:
                yield slot
                yield env.timeout(rng.expovariate(1 / SERVICE_MEAN_S))
            state["responses"] += 1
            back = LAT_BA_S + LAT_CB_S
            yield env.timeout(back + rng.expovariate(1 / THINK_MEAN_S) + LAT_CB_S)

    for _ in range(CLIENTS):
        env.process(client())
    env.run(until=HORIZON_S)
    return state["responses"]


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    walls = []
    responses = 0
    for r in range(repeats):
        t0 = time.perf_counter()
        responses = run(r)
        walls.append(time.perf_counter() - t0)
    med, best = statistics.median(walls), min(walls)
    print(f"{'queue':<22} {'requests':>9} {'median_s':>9} {'requests/s':>12} {'best_s':>9} {'best_req/s':>12}")
    print(f"{'SimPy ' + simpy.__version__:<22} {responses:>9} {med:>9.4f} {responses / med:>12.0f} {best:>9.4f} {responses / best:>12.0f}")


if __name__ == "__main__":
    main()
