// The gRPC part of bench/results.md: guarded against unguarded unary calls, and signature
// against session-id mode, from one run of bench/grpc.bench.mjs.

const n = (value, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (s) => `±${s.spreadPct.toFixed(0)}%`;

/**
 * Markdown lines for the gRPC section, and its targets.
 * @param {any} result the RESULT of bench/grpc.bench.mjs
 * @param {(scenario: string, measured: string, goal: string, ok: boolean) => void} target
 */
export function grpcSection(result, target) {
  const { variants, ratios, config } = result;
  const lines = [
    '## gRPC unary calls',
    '',
    `\`node bench/grpc.bench.mjs --duration ${config.duration} --warmup ${config.warmup} --rounds ${config.rounds} --concurrency ${config.concurrency} --filler ${config.filler}\`: one Nest gRPC microservice per variant, each in its own process, serving \`bench.v1.Bench/Echo\` with the same handler on the memory store (${n(config.filler)} other sessions). The load generator (${result.client === 'grpc-js' ? "@grpc/grpc-js's client" : 'plain HTTP/2 with gRPC framing, the leanest client, so that the server limits the closed-loop rate rather than the load generator'}) sends a fresh id string per call in session-id mode, and signs each signed call (its own nonce) before the clock starts. Server CPU is \`process.cpuUsage()\` in the server over the measured window, divided by the calls it served: the load generator runs on the same machine, and its own cost differs between modes, so this is the figure that isolates the server. Medians of ${config.rounds} rounds, the order of the variants rotating between rounds; ± is the largest distance of a round from the median.`,
    '',
    `Each round measures every variant twice: closed loop (each answer launches the next call, so the rate is what the pair of processes sustains), then paced at ${n(result.pacedRate)} calls/s, the same offered load for all (60% of the slowest closed-loop rate of round 1), so that no server runs saturated and each batches its calls alike. ${result.pinned ? 'The servers run on core 1 and the load generator on core 0 (`taskset`).' : 'Processes were not pinned to cores (no `taskset`).'}`,
    '',
    '| variant | calls/s (closed loop) | server CPU per call (closed loop) | server CPU per call (paced) | load-generator CPU per call (closed loop) |',
    '|---|---|---|---|---|',
  ];
  const names = {
    unguarded: 'unguarded (plain Nest gRPC options)',
    'allow-guard':
      'a guard that lets everything through (plain Nest gRPC options; the calls carry a session id)',
    guarded: 'SessionGuard, session-id mode',
    carried: "session-id mode, carrying a signed call's `x-mesh-signature` entry unread",
    'hmac-floor':
      'carried, plus the SHA-256 of the message and one HMAC-SHA256 over a signature base, in the same guard (floor of signature mode: nothing parsed, no nonce)',
    'verify-floor':
      'carried, plus every step of a signature check done the plainest way, in the same guard (one regular expression, the clock check, the SHA-256 of the message, one HMAC compared in constant time, the nonce in a `Set`)',
    signature: 'SessionGuard, signature mode (one `x-mesh-signature` entry)',
    'signature-rfc9421': 'SessionGuard, signature mode, the three RFC 9421 entries',
  };
  for (const [name, label] of Object.entries(names)) {
    const v = variants[name];
    if (v === undefined) continue;
    lines.push(
      `| ${label} | ${n(v.callsPerSecond.median)} ${spread(v.callsPerSecond)} | ${n(v.cpuMicrosPerCall.median, 1)} µs ${spread(v.cpuMicrosPerCall)} | ${n(v.pacedCpuMicrosPerCall.median, 1)} µs ${spread(v.pacedCpuMicrosPerCall)} | ${n(v.clientCpuMicrosPerCall.median, 1)} µs ${spread(v.clientCpuMicrosPerCall)} |`,
    );
  }
  lines.push(
    '',
    "Ratios are computed per round, then the median taken; by CPU, a ratio is the other variant's CPU per call over this one's (so above 1 means cheaper).",
    '',
    '| ratio | by throughput | by server CPU per call (closed loop) | by server CPU per call (paced) |',
    '|---|---|---|---|',
  );
  const rows = [
    ['guarded / unguarded', ratios.guardedOverUnguarded, 0.9],
    ['signature / session-id', ratios.signatureOverSessionId, 0.85],
  ];
  const floors = [
    [
      'a guard that allows everything / unguarded: the most any guard can reach here',
      ratios.allowGuardOverUnguarded,
    ],
    ['guarded / a guard that allows everything: our own share', ratios.guardedOverAllowGuard],
    ['carried / session-id: the cost of carrying a signature', ratios.carriedOverSessionId],
    ['signature / carried: the cost of verifying it', ratios.signatureOverCarried],
    [
      'hmac-floor / session-id: the most signature mode can reach here',
      ratios.hmacFloorOverSessionId,
    ],
    [
      'signature / hmac-floor: what verification costs beyond the floor',
      ratios.signatureOverHmacFloor,
    ],
    [
      'verify-floor / session-id: every step of a signature check, done the plainest way',
      ratios.verifyFloorOverSessionId,
    ],
    [
      'signature / verify-floor: what the library adds to those steps',
      ratios.signatureOverVerifyFloor,
    ],
    ['RFC 9421 entries / session-id: the three-entry form', ratios.rfc9421OverSessionId],
  ];
  for (const [label, ratio] of floors) {
    if (ratio === undefined) continue;
    lines.push(
      `| ${label} | ${ratio.throughput.median.toFixed(3)} ${spread(ratio.throughput)} | ${ratio.cpu.median.toFixed(3)} ${spread(ratio.cpu)} | ${ratio.pacedCpu.median.toFixed(3)} ${spread(ratio.pacedCpu)} |`,
    );
  }
  for (const [label, ratio, goal] of rows) {
    lines.push(
      `| ${label} | ${ratio.throughput.median.toFixed(3)} ${spread(ratio.throughput)} | ${ratio.cpu.median.toFixed(3)} ${spread(ratio.cpu)} | ${ratio.pacedCpu.median.toFixed(3)} ${spread(ratio.pacedCpu)} |`,
    );
    target(
      `gRPC ${label}, by throughput`,
      `${ratio.throughput.median.toFixed(3)} (rounds ${ratio.throughput.rounds.map((r) => r.toFixed(2)).join(', ')})`,
      `≥ ${goal}`,
      ratio.throughput.median >= goal,
    );
    target(
      `gRPC ${label}, by server CPU per call (paced)`,
      `${ratio.pacedCpu.median.toFixed(3)} (rounds ${ratio.pacedCpu.rounds.map((r) => r.toFixed(2)).join(', ')}; closed loop ${ratio.cpu.median.toFixed(3)})`,
      `≥ ${goal}`,
      ratio.pacedCpu.median >= goal,
    );
  }
  lines.push('');
  return lines;
}
