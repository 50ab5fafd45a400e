# Shared by deploy.sh and destroy.sh (sourced; expects $here and $root). The preflight collects every
# problem before reporting, so one run says everything that is missing.

step() { echo "[deploy] $*"; }

# Tools from the repo cache first (dev/setup/install-infra-tools.sh), then the PATH.
tools=${MARKET_TOOLS_DIR:-$root/.cache/tools}
export PATH="$tools/venv/bin:$tools/bin:$PATH"
TF_VAR_FILE=${TF_VAR_FILE:-$here/terraform.tfvars}
TF_STATE_PREFIX=${TF_STATE_PREFIX:-market-pipeline/default}

preflight() {
  local purpose=$1 problems=()

  TF=$(command -v tofu || command -v terraform || true)
  [ -n "$TF" ] || problems+=("tool: tofu or terraform (sh dev/setup/install-infra-tools.sh builds tofu)")
  if [ "$purpose" = deploy ]; then
    local ap
    ap=$(command -v ansible-playbook || true)
    if [ -n "$ap" ]; then ANSIBLE_PLAYBOOK_DIR=$(dirname "$ap"); else
      problems+=("tool: ansible-playbook (sh dev/setup/install-infra-tools.sh installs it)")
    fi
    command -v ssh >/dev/null || problems+=("tool: ssh")
    if command -v ssh-add >/dev/null && ! ssh-add -l >/dev/null 2>&1; then
      problems+=("ssh-agent: no key loaded (ssh-add the private key matching ssh_public_key)")
    fi
  fi

  # GCP credentials: Application Default Credentials, a key file named by the environment, or a token.
  if [ -n "${GOOGLE_APPLICATION_CREDENTIALS:-}" ]; then
    [ -r "$GOOGLE_APPLICATION_CREDENTIALS" ] ||
      problems+=("credentials: GOOGLE_APPLICATION_CREDENTIALS=$GOOGLE_APPLICATION_CREDENTIALS is not readable")
  elif [ -z "${GOOGLE_CREDENTIALS:-}${GOOGLE_OAUTH_ACCESS_TOKEN:-}" ]; then
    local adc="${CLOUDSDK_CONFIG:-$HOME/.config/gcloud}/application_default_credentials.json"
    [ -r "$adc" ] ||
      problems+=("credentials: no GCP Application Default Credentials (gcloud auth application-default login)")
  fi

  [ -n "${TF_STATE_BUCKET:-}" ] || problems+=("variable: TF_STATE_BUCKET (GCS bucket for the remote state)")
  if [ -r "$TF_VAR_FILE" ]; then
    local v
    for v in project_id admin_cidrs ssh_public_key; do
      grep -Eq "^[[:space:]]*$v[[:space:]]*=" "$TF_VAR_FILE" || problems+=("variable: $v in ${TF_VAR_FILE#"$root"/}")
    done
    if grep -Eq '^[[:space:]]*admin_cidrs[[:space:]]*=.*0\.0\.0\.0/0' "$TF_VAR_FILE"; then
      problems+=("variable: admin_cidrs must not contain 0.0.0.0/0")
    fi
  else
    problems+=("file: ${TF_VAR_FILE#"$root"/} (copy terraform/terraform.tfvars.example)")
  fi

  if [ "$purpose" = deploy ]; then
    local vault="$root/ansible/playbooks/group_vars/all/vault.yml"
    if [ ! -f "$vault" ]; then
      [ -n "${GRAFANA_ADMIN_PASSWORD:-}" ] || problems+=("secret: GRAFANA_ADMIN_PASSWORD (or Ansible Vault vault.yml)")
      [ -n "${FINNHUB_TOKEN:-}" ] || problems+=("secret: FINNHUB_TOKEN (or Ansible Vault vault.yml)")
    elif [ -z "${ANSIBLE_VAULT_PASSWORD_FILE:-}" ] && head -1 "$vault" | grep -q '^\$ANSIBLE_VAULT'; then
      problems+=("secret: ANSIBLE_VAULT_PASSWORD_FILE to decrypt ${vault#"$root"/}")
    fi
    [ -f "$root/knative/overlays/gcp/kustomization.yaml" ] ||
      problems+=("file: knative/overlays/gcp/kustomization.yaml (the app overlay)")
  fi

  if [ ${#problems[@]} -gt 0 ]; then
    echo "[deploy] preflight failed; missing or invalid:" >&2
    printf '  - %s\n' "${problems[@]}" >&2
    return 1
  fi
  step "preflight ok ($TF)"
}

tf_init() {
  "$TF" -chdir="$here" init -input=false -reconfigure \
    -backend-config="bucket=$TF_STATE_BUCKET" -backend-config="prefix=$TF_STATE_PREFIX"
}
