#!/usr/bin/env bash
# Encrypted predictions as a service on one machine: three `node serve` parties
# (and the dealer's node) on 127.0.0.1 serve the MNIST 784-128-128-10 model; a
# client (`node query`) encrypts the 10,000 test images, queries party 0, and
# decrypts the predictions.
#
#   bash configs/serve-local/run.sh [MODEL_DIR]
#
# MODEL_DIR holds a trained model.json (default: train configs/mnist-mlp-3p.yaml
# with `node simulate --model-out`, a few minutes). Exits 0 only if at least
# 99.9% of the decrypted predictions equal the plaintext model's; prints the
# agreement, the latency of single-row queries and the throughput of batched ones.
# Work files go to $WORK (default: a temp dir); libp2p ports start at $BASE_PORT,
# HTTPS ports at $HTTP_PORT. PROFILE=1 writes each party's CPU profile to
# $WORK/node<i>/cpu.prof (`go tool pprof -top $WORK/node $WORK/node0/cpu.prof`).
# QUERY_ARGS are added to the throughput query's (e.g. "--parallel 4 --batch 512").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
experiment="$root/configs/mnist-mlp-3p.yaml"
work="${WORK:-$(mktemp -d -t tessera-serve-XXXXXX)}"
base_port="${BASE_PORT:-47300}"
http_port="${HTTP_PORT:-47400}"
parties=3
mkdir -p "$work"
echo "serve-local: work directory $work"

if [[ -n "${NODE:-}" ]]; then cp "$NODE" "$work/node"; else (cd "$root" && go build -o "$work/node" ./cmd/node); fi

model="${1:-}"
if [[ -z "$model" ]]; then
  model="$work/model"
  if [[ ! -f "$model/model.json" ]]; then
    echo "serve-local: training $experiment (node simulate --model-out $model)"
    "$work/node" simulate --config "$experiment" --model-out "$model" >"$work/train.log" 2>&1 || { tail -n 20 "$work/train.log" >&2; exit 1; }
  fi
fi
[[ -f "$model/model.json" ]] || { echo "serve-local: no model.json in $model" >&2; exit 2; }

declare -a ids
for i in $(seq 0 $parties); do   # index $parties is the dealer
  rm -rf "$work/node$i"
  ids[$i]="$("$work/node" init --out "$work/node$i")"
done
for i in $(seq 0 $parties); do
  {
    if [[ $i -eq $parties ]]; then echo "role: dealer"; else echo "role: party"; echo "party: $i"; echo "data: {slice: true}"; fi
    echo "identity: identity.key"
    echo "listen: [/ip4/127.0.0.1/tcp/$((base_port + i))]"
    echo "experiment: $experiment"
    echo "timeout: 120s"
    echo "parties:"
    for j in $(seq 0 $((parties - 1))); do
      echo "  - {party: $j, id: ${ids[$j]}, addrs: [/ip4/127.0.0.1/tcp/$((base_port + j))]}"
    done
    echo "dealer: {party: $parties, id: ${ids[$parties]}, addrs: [/ip4/127.0.0.1/tcp/$((base_port + parties))]}"
  } >"$work/node$i/node.yaml"
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$work/node" dealer --config "$work/node$parties/node.yaml" >"$work/node$parties/out.log" 2>"$work/node$parties/err.log" &
pids+=($!)
for i in $(seq 0 $((parties - 1))); do
  profile=()
  [[ -n "${PROFILE:-}" ]] && profile=(--cpuprofile "$work/node$i/cpu.prof")
  "$work/node" serve --config "$work/node$i/node.yaml" --model "$model" --listen "127.0.0.1:$((http_port + i))" \
    --metrics "127.0.0.1:$((http_port + 10 + i))" --fingerprint-out "$work/node$i/fingerprint" "${profile[@]}" \
    >"$work/node$i/out.log" 2>"$work/node$i/err.log" &
  pids+=($!)
done
for i in $(seq 0 $((parties - 1))); do
  for _ in $(seq 1 600); do [[ -s "$work/node$i/fingerprint" ]] && break; sleep 0.2; done
  [[ -s "$work/node$i/fingerprint" ]] || { echo "serve-local: party $i did not start:" >&2; tail -n 5 "$work/node$i/err.log" >&2; exit 1; }
  cat "$work/node$i/out.log"
done

query() { # PARTY ARGS...
  local p=$1; shift
  "$work/node" query --server "https://127.0.0.1:$((http_port + p))" --fingerprint "$(cat "$work/node$p/fingerprint")" --dataset mnist "$@"
}
echo "serve-local: latency: 20 single-image queries to party 1 (forwarded to the leader)"
query 1 --rows 20 --batch 1 --parallel 1 --out "$work/latency.csv" 2>&1 | tee "$work/latency.log"
echo "serve-local: throughput and agreement: the 10,000 test images, batched, four queries in flight, to party 0"
query 0 --expect "$model/model.json" --out "$work/predictions.csv" --parallel 4 ${PROFILE:+--cpuprofile "$work/query.prof"} ${QUERY_ARGS:-} 2>&1 | tee "$work/query.log"
curl -sk "http://127.0.0.1:$((http_port + 10))/metrics" | grep -E '^tessera_serve_(rows_total|requests_total|stage_seconds_(sum|count))' || true

pct="$(sed -n -E 's/.*agreement with the plaintext model: [0-9]+ of [0-9]+ \(([0-9.]+)%\).*/\1/p' "$work/query.log")"
[[ -n "$pct" ]] || { echo "serve-local: no agreement figure" >&2; exit 1; }
if awk -v p="$pct" 'BEGIN { exit !(p >= 99.9) }'; then
  echo "serve-local: OK: $pct% of the decrypted predictions equal the plaintext model's"
else
  echo "serve-local: FAIL: only $pct% of the decrypted predictions equal the plaintext model's" >&2
  exit 1
fi
