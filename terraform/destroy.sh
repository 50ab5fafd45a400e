#!/usr/bin/env bash
# Destroy everything deploy.sh created. The Kafka and Cassandra volumes are node-local (local-path), so the
# data goes with the VMs: back up first if it matters. The remote state bucket itself is kept.
#
#   terraform/destroy.sh                  preflight, confirmation, tofu destroy
#   terraform/destroy.sh --preflight-only check tools, credentials and variables only
#   AUTO_APPROVE=1 terraform/destroy.sh   no confirmation prompt (CI)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=terraform/lib.sh
. "$here/lib.sh"

only_preflight=0
case "${1:-}" in
  --preflight-only) only_preflight=1 ;;
  -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

preflight destroy
[ "$only_preflight" = 1 ] && exit 0

tf_init
"$TF" -chdir="$here" destroy -input=false -var-file="$TF_VAR_FILE" ${AUTO_APPROVE:+-auto-approve}
rm -f "$root/ansible/inventory/generated.yml"
step "destroyed; state remains in gs://$TF_STATE_BUCKET/$TF_STATE_PREFIX"
