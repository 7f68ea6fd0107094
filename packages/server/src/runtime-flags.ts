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
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
