#!/usr/bin/env bash
# Deploy the market pipeline to GCP: Terraform (OpenTofu or Terraform) creates the VMs and network, its
# output becomes the Ansible inventory, and ansible/playbooks/site.yml builds the cluster and installs
# everything on it. Re-running is safe: both stages are idempotent.
#
#   terraform/deploy.sh                  preflight, tofu apply, ansible site.yml
#   terraform/deploy.sh --preflight-only check tools, credentials, variables and secrets, change nothing
#   terraform/deploy.sh --plan           preflight + tofu plan only
#   terraform/deploy.sh --skip-terraform reuse the existing infrastructure, run Ansible only
#   terraform/deploy.sh -- --tags ...    extra arguments after -- go to ansible-playbook
#
# Environment: TF_STATE_BUCKET (required), TF_STATE_PREFIX (default market-pipeline/default),
# TF_VAR_FILE (default terraform/terraform.tfvars), GRAFANA_ADMIN_PASSWORD and FINNHUB_TOKEN (or Ansible
# Vault in ansible/playbooks/group_vars/all/vault.yml with ANSIBLE_VAULT_PASSWORD_FILE), GCP credentials via
# Application Default Credentials (gcloud auth application-default login) or GOOGLE_APPLICATION_CREDENTIALS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=terraform/lib.sh
. "$here/lib.sh"

mode=apply
ansible_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preflight-only) mode=preflight ;;
    --plan) mode=plan ;;
    --skip-terraform) mode=ansible ;;
    --) shift; ansible_args=("$@"); break ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

preflight deploy
[ "$mode" = preflight ] && exit 0

if [ "$mode" != ansible ]; then
  tf_init
  if [ "$mode" = plan ]; then
    "$TF" -chdir="$here" plan -input=false -var-file="$TF_VAR_FILE"
    exit 0
  fi
  "$TF" -chdir="$here" apply -input=false -var-file="$TF_VAR_FILE" ${AUTO_APPROVE:+-auto-approve}
fi

inventory="$root/ansible/inventory/generated.yml"
"$TF" -chdir="$here" output -raw ansible_inventory >"$inventory"
chmod 600 "$inventory"
step "inventory written to ${inventory#"$root"/}"

cd "$root/ansible"
export ANSIBLE_CONFIG="$root/ansible/ansible.cfg"
step "waiting for SSH on every VM (first boot takes a minute)"
"$ANSIBLE_PLAYBOOK_DIR/ansible" all -i "$inventory" -m ansible.builtin.wait_for_connection -a timeout=600 >/dev/null
step "ansible-playbook playbooks/site.yml"
"$ANSIBLE_PLAYBOOK_DIR/ansible-playbook" -i "$inventory" playbooks/site.yml "${ansible_args[@]}"

gateway=$("$TF" -chdir="$here" output -raw gateway_public_ip)
step "done. Grafana: https://$gateway/  (admin UIs: https://$gateway:8443/prometheus/ from the allowlist,"
step "or ssh -L 8443:127.0.0.1:8443 ${TF_SSH_USER:-ops}@$gateway and https://127.0.0.1:8443/prometheus/)"
