/**
 * SERVER_NODE_FLAGS are the Node.js flags a server process runs with (`node <flags>
 * packages/server/dist/main.js`): LocalCluster, the chaos harness and the Helm chart pass them,
 * and README.md tells operators of plain processes to. They cannot be set from inside the
 * process: V8 sizes its heap before any code runs.
 *
 * `--max-semi-space-size=64` (MiB; Node 20's default is 16): a renewal's objects live for a commit
 * round trip — the KeepAlive request, its batch, the entry and the answers, hundreds of
 * milliseconds under load — long enough to survive two scavenges of a small young generation and
 * be promoted, so the old generation filled with short-lived garbage that long major collections
 * then paid for. Measured in the scale bench at 40,000 leases (bench/README.md "scale"): the
 * leader's CPU 31% → 23% and its garbage collection 5.2 → 2.9 s over the run, its longest stall
 * 699 → 288 ms, for 40–80 MiB more RSS per node.
 *
 * `--no-lazy --always-sparkplug`: every function is compiled to bytecode when its script loads,
 * and to V8's baseline machine code at its first call, instead of being interpreted until it is
 * hot. A member that takes office for the first time in its process (every rolling restart hands
 * leadership to one) otherwise runs its leader's path — the forward stream's server side, the
 * write path, the codecs — cold, in the interpreter: a 200 µs CPU profile of such a transfer had
 * the new leader on a CPU for 43 ms of its 80 ms, in dozens of functions at 1–3 ms each. Measured
 * in `npm run bench -- compare --only omnirelay --workloads d` (bench/README.md "Session 33" and
 * "Session 34" under compare), sixteen alternating pairs: a transfer to a member that never led
 * 38.9 → 27.1 and 49.1 → 29.4 ms at the median, all transfers 23.1 → 16.6 and 25.7 → 18.9 ms;
 * either flag alone did little. The cost: an idle node answers its first `/status` ~150 ms later
 * and holds ~20 MiB more RSS; at 100,000 leases (`npm run bench -- scale --only
 * omnirelay`, three alternating pairs) the leader's peak RSS was 726 / 731 / 797 MiB without and
 * 800 / 781 / 758 MiB with them, its CPU and the longest stalls within the host's noise. Both are V8
 * options that Node 20 passes through; a Node whose V8 dropped one would refuse to start with "bad
 * option", naming it.
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--no-lazy',
  '--always-sparkplug',
];

/**
 * SERVER_NODE_ENV is the environment a server process starts with, next to SERVER_NODE_FLAGS:
 * LocalCluster, the chaos harness, the image (`ENV`) and the Helm chart (`env`) set it, and
 * README.md tells operators of plain processes to. It must be in the environment before the
 * process starts: glibc reads it once at start-up, so it cannot be set from inside. Where an
 * explicit value is already in the environment (an operator's, an experiment's), LocalCluster and
 * the chaos harness keep it.
 *
 * `MALLOC_ARENA_MAX=2` (glibc's default is 8 arenas per core): native memory outside the V8 heap
 * and Buffers — LevelDB's writes and fs work on libuv's thread pool, V8's GC helper threads — was
 * spread over per-thread malloc arenas, each keeping its freed memory. Measured in the scale bench
 * (`npm run bench -- scale --only omnirelay`: 100,000 leases, 3 nodes, 2 cores), the leader's peak
 * RSS with the default arenas was 1,102 / 1,125 / 1,142 MiB (three runs, 2026-12-04) and 1,092 MiB
 * (2026-12-05); with `MALLOC_ARENA_MAX=2` it was 1,056 MiB (2026-12-05; window max 1,013) and 989
 * MiB window max (2026-12-04), against the target of at most 1 GiB per node (issue 20). Of that RSS
 * the V8 heap in use is only ~230–350 MiB; ~230 MiB is native memory outside the heap and Buffers.
 * The leader's CPU was unchanged (44% both ways).
 */
export const SERVER_NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
