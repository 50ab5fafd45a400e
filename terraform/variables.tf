# Inputs. Nothing here has a secret default: the only credentials Terraform needs come from
# Application Default Credentials (gcloud auth application-default login) or GOOGLE_CREDENTIALS in the
# environment, never from a variable or a key file in the repository.

variable "project_id" {
  description = "GCP project that holds every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id (6-30 chars, lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the subnet, the Cloud NAT and the internal API load balancer."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones inside var.region; control-plane and worker VMs are spread round-robin across them so one zone outage keeps etcd quorum."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b", "us-central1-c"]

  validation {
    condition     = length(var.zones) > 0
    error_message = "zones needs at least one zone."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name, so several environments can share a project."
  type        = string
  default     = "market"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens, at most 21 chars, starting with a letter."
  }
}

variable "subnet_cidr" {
  description = "Primary range of the node subnet. Must not overlap the pod (192.168.0.0/16) or service (10.96.0.0/12) ranges used by kubeadm."
  type        = string
  default     = "10.20.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a valid IPv4 CIDR."
  }
}

variable "control_plane_count" {
  description = "Number of control-plane VMs (stacked etcd). Odd, so etcd keeps a majority; 3 tolerates one loss."
  type        = number
  default     = 3

  validation {
    condition     = var.control_plane_count >= 1 && var.control_plane_count % 2 == 1
    error_message = "control_plane_count must be an odd number >= 1 (etcd quorum)."
  }
}

variable "worker_count" {
  description = "Number of worker VMs. knative/overlays/gcp runs 3 Cassandra and 3 Kafka nodes with one pod per worker (required anti-affinity), so fewer than 3 workers leaves pods Pending; test/infra/sizing.test.ts keeps this minimum equal to those replica counts."
  type        = number
  default     = 3

  validation {
    condition     = var.worker_count >= 3
    error_message = "worker_count must be at least 3: Cassandra and Kafka (3 replicas each in knative/overlays/gcp) run one pod per worker, so fewer workers leave cassandra-2 / a Kafka node Pending."
  }
}

variable "control_plane_machine_type" {
  description = "Machine type of control-plane VMs (kubeadm needs >= 2 vCPU)."
  type        = string
  default     = "e2-standard-2"
}

variable "worker_machine_type" {
  description = "Machine type of worker VMs (Kafka, Cassandra, Knative functions, monitoring)."
  type        = string
  default     = "e2-standard-4"
}

variable "gateway_machine_type" {
  description = "Machine type of the HAProxy gateway VM."
  type        = string
  default     = "e2-small"
}

variable "image" {
  description = "Boot image of every VM. The Ansible roles target Debian 12 (bookworm)."
  type        = string
  default     = "debian-cloud/debian-12"
}

variable "control_plane_disk_gb" {
  description = "Boot disk size of control-plane VMs in GB (etcd and images)."
  type        = number
  default     = 50
}

variable "worker_disk_gb" {
  description = "Boot disk size of worker VMs in GB. It holds the OS, container images and every local-path volume and emptyDir scheduled on the worker (Cassandra, Kafka, Prometheus, Grafana, the bridge spool); test/infra/sizing.test.ts checks the worst case stays below the kubelet's disk-pressure line."
  type        = number
  default     = 120

  validation {
    condition     = var.worker_disk_gb >= 120
    error_message = "worker_disk_gb must be at least 120: the volumes one worker may hold (test/infra/sizing.test.ts) plus images must stay below the kubelet's 85 % disk-pressure line."
  }
}

variable "gateway_disk_gb" {
  description = "Boot disk size of the gateway VM in GB."
  type        = number
  default     = 20
}

variable "disk_type" {
  description = "Persistent disk type of every boot disk."
  type        = string
  default     = "pd-balanced"
}

variable "admin_cidrs" {
  description = "Allowlist of operator networks (CIDRs) that may SSH to the gateway and reach the admin UIs port. No default on purpose: the operator must name their own address (e.g. [\"203.0.113.7/32\"])."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) > 0 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0))])
    error_message = "admin_cidrs must hold at least one valid IPv4 CIDR."
  }

  validation {
    # SSH open to the world was the seeds' gateway setup; refuse it rather than trust a review.
    condition     = alltrue([for c in var.admin_cidrs : tonumber(split("/", c)[1]) >= 8])
    error_message = "admin_cidrs must not contain 0.0.0.0/0 or any range wider than /8."
  }
}

variable "public_cidrs" {
  description = "Networks that may reach the public HTTPS entry (Grafana) on the gateway, ports 80 and 443 only."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.public_cidrs) > 0 && alltrue([for c in var.public_cidrs : can(cidrhost(c, 0))])
    error_message = "public_cidrs must hold at least one valid IPv4 CIDR."
  }
}

variable "admin_ui_port" {
  description = "Gateway port of the admin UIs frontend (Kafdrop, Prometheus, ...): allowlisted to admin_cidrs, otherwise reachable through an SSH tunnel."
  type        = number
  default     = 8443
}

variable "gateway_node_ports" {
  description = "NodePorts HAProxy on the gateway proxies to (Grafana, Prometheus, Alertmanager, Kafka UI): the only ports of the workers the gateway may reach besides SSH. test/infra/ansible.test.ts keeps them equal to the ports the rendered HAProxy configuration routes to."
  type        = list(string)
  default     = ["30300", "30090", "30093", "30900"]

  validation {
    condition     = alltrue([for p in var.gateway_node_ports : can(tonumber(p)) && tonumber(p) >= 30000 && tonumber(p) <= 32767])
    error_message = "gateway_node_ports must lie in the Kubernetes NodePort range 30000-32767."
  }
}

variable "ssh_user" {
  description = "Login user created by the guest environment from the ssh-keys metadata; Ansible connects as this user."
  type        = string
  default     = "ops"
}

variable "ssh_public_key" {
  description = "OpenSSH public key (contents, not a path) of the operator; the matching private key stays on the operator's machine."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key line (ssh-ed25519 ... or ssh-rsa ...)."
  }
}

variable "api_server_port" {
  description = "Port of the Kubernetes API server on the control planes and on the internal load balancer."
  type        = number
  default     = 6443
}

variable "labels" {
  description = "Extra labels on every resource that supports them (e.g. cost centre)."
  type        = map(string)
  default     = {}
}
