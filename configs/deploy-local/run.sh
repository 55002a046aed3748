#!/usr/bin/env bash
# A deployment on one machine, as it would run on several: one `node run` process
# per party, plus the dealer's node when the experiment uses a dealer
# (`preprocessing: dealer`, the default; none with `preprocessing: he`), talking
# libp2p over 127.0.0.1.
#
#   bash configs/deploy-local/run.sh [EXPERIMENT.yaml]
#
# Builds the binary (or uses $NODE), makes an identity per node, writes each
# node's config, starts the processes, waits, and exits 0 only when every node
# finished and all parties report the same final metrics. Work files go to $WORK
# (default: a temp dir); ports start at $BASE_PORT; $TIMEOUT is the nodes'
# liveness timeout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
experiment="$(cd "$(dirname "${1:-$root/configs/diabetes-linreg-3p.yaml}")" && pwd)/$(basename "${1:-diabetes-linreg-3p.yaml}")"
work="${WORK:-$(mktemp -d -t tessera-deploy-XXXXXX)}"
base_port="${BASE_PORT:-47100}"
timeout="${TIMEOUT:-60s}"
seed_flag=()
if [[ -n "${INSECURE_SEED:-}" ]]; then seed_flag=(--insecure-seed "$INSECURE_SEED"); fi

# top-level scalar of the experiment YAML, unquoted, or $2 when it is absent
experiment_field() {
  local v
  v="$(sed -n -E "s/^$1:[[:space:]]*[\"']?([A-Za-z0-9_-]*)[\"']?[[:space:]]*(#.*)?\$/\1/p" "$experiment" | tail -n 1)"
  echo "${v:-$2}"
}
parties="$(experiment_field parties 3)"
preprocessing="$(experiment_field preprocessing dealer)"
case "$preprocessing" in
  dealer) nodes=$((parties + 1)) ;;   # index $parties is the dealer
  he) nodes=$parties ;;
  *) echo "deploy-local: unknown preprocessing \"$preprocessing\" in $experiment" >&2; exit 2 ;;
esac
mkdir -p "$work"
echo "deploy-local: work directory $work; $parties parties, preprocessing $preprocessing, $nodes nodes"

if [[ -n "${NODE:-}" ]]; then
  cp "$NODE" "$work/node"
else
  (cd "$root" && go build -o "$work/node" ./cmd/node)
fi

declare -a ids
for i in $(seq 0 $((nodes - 1))); do
  rm -rf "$work/node$i"
  ids[$i]="$("$work/node" init --out "$work/node$i")"
done

peer_list() {
  for i in $(seq 0 $((parties - 1))); do
    echo "  - {party: $i, id: ${ids[$i]}, addrs: [/ip4/127.0.0.1/tcp/$((base_port + i))]}"
  done
}
for i in $(seq 0 $((nodes - 1))); do
  cfg="$work/node$i/node.yaml"
  {
    if [[ $i -eq $parties ]]; then echo "role: dealer"; else echo "role: party"; echo "party: $i"; fi
    echo "identity: identity.key"
    echo "listen: [/ip4/127.0.0.1/tcp/$((base_port + i))]"
    echo "experiment: $experiment"
    echo "timeout: $timeout"
    echo "parties:"
    peer_list
    if [[ $nodes -gt $parties ]]; then
      echo "dealer: {party: $parties, id: ${ids[$parties]}, addrs: [/ip4/127.0.0.1/tcp/$((base_port + parties))]}"
    fi
    if [[ $i -lt $parties ]]; then
      echo "data: {slice: true}"
      echo "results: results.json"
      echo "model_dir: model"
    fi
  } >"$cfg"
done

pids=()
for i in $(seq 0 $((nodes - 1))); do
  cmd=run; [[ $i -eq $parties ]] && cmd=dealer
  "$work/node" "$cmd" --config "$work/node$i/node.yaml" "${seed_flag[@]}" >"$work/node$i/out.log" 2>"$work/node$i/err.log" &
  pids[$i]=$!
done

status=0
for i in $(seq 0 $((nodes - 1))); do
  if ! wait "${pids[$i]}"; then
    echo "deploy-local: node $i failed:" >&2
    tail -n 5 "$work/node$i/err.log" >&2
    status=1
  fi
done
for i in $(seq 0 $((parties - 1))); do
  echo "--- party $i"
  cat "$work/node$i/out.log"
done
[[ $status -eq 0 ]] || exit 1

# Every party must report the same final metrics.
final() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["final"], sort_keys=True))' "$1"; }
if ! command -v python3 >/dev/null; then
  final() { tr -d ' \n' <"$1" | grep -o '"final":{[^}]*}[^}]*}'; }
fi
ref="$(final "$work/node0/results.json")"
for i in $(seq 1 $((parties - 1))); do
  got="$(final "$work/node$i/results.json")"
  if [[ "$got" != "$ref" ]]; then
    echo "deploy-local: party $i's final metrics differ from party 0's:" >&2
    echo "  party 0: $ref" >&2
    echo "  party $i: $got" >&2
    exit 1
  fi
done
echo "deploy-local: all $parties parties finished with the same final metrics: $ref"
