# GCP footprint of the market pipeline: one VPC, one node subnet without public addresses (egress via
# Cloud NAT), a highly available kubeadm control plane behind an internal TCP load balancer, workers, and a
# single gateway VM that holds the only external IP (HAProxy: Grafana over TLS, admin UIs allowlisted).

locals {
  # Round-robin placement: with 3 zones and 3 control planes every zone holds one etcd member.
  control_plane_zones = [for i in range(var.control_plane_count) : element(var.zones, i)]
  worker_zones        = [for i in range(var.worker_count) : element(var.zones, i)]
  gateway_zone        = var.zones[0]

  tag_node          = "${var.name_prefix}-k8s-node"
  tag_control_plane = "${var.name_prefix}-k8s-control-plane"
  tag_worker        = "${var.name_prefix}-k8s-worker"
  tag_gateway       = "${var.name_prefix}-gateway"

  # Google's load-balancer health checkers; they must reach the API server for the ILB to route to it.
  google_health_check_ranges = ["35.191.0.0/16", "130.211.0.0/22"]

  instance_metadata = {
    # Keys are pinned per instance so a project-wide key cannot log in to the cluster.
    "ssh-keys"               = "${var.ssh_user}:${trimspace(var.ssh_public_key)}"
    "block-project-ssh-keys" = "true"
    "enable-oslogin"         = "FALSE"
  }

  # Minimal roles a node needs to ship logs and metrics and to pull the app's images (the kubelet's
  # credential provider, ansible/roles/node_prep, trades the node's metadata token for registry access);
  # nothing that can change other resources.
  node_roles = toset([
    "roles/artifactregistry.reader",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
  ])
  gateway_roles = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
  ])
}

# --------------------------------------------------------------------------------------------- network

resource "google_compute_network" "vpc" {
  name                    = "${var.name_prefix}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "nodes" {
  name                     = "${var.name_prefix}-nodes"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.1
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Nodes have no external address, yet must pull images and packages: Cloud NAT gives them egress only.
resource "google_compute_router" "nat" {
  name    = "${var.name_prefix}-router"
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  name                               = "${var.name_prefix}-nat"
  router                             = google_compute_router.nat.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.nodes.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# -------------------------------------------------------------------------------------------- firewall
# GCP denies all ingress by default; each rule below opens one path and nothing else.

# Node-to-node only, by network tag: the gateway sits in the same subnet, so a subnet-wide source range
# would let the one internet-facing VM reach etcd (2379-2380), the kubelet (10250) and the API server
# (6443) of every node. The gateway gets its own, narrower rules below.
resource "google_compute_firewall" "internal" {
  name        = "${var.name_prefix}-allow-internal"
  network     = google_compute_network.vpc.id
  direction   = "INGRESS"
  priority    = 1000
  description = "Node-to-node traffic (kubelet, etcd, Calico VXLAN, NodePorts) between Kubernetes nodes only."
  source_tags = [local.tag_node]
  target_tags = [local.tag_node]

  allow {
    protocol = "tcp"
  }
  allow {
    protocol = "udp"
  }
  allow {
    protocol = "icmp"
  }
}

resource "google_compute_firewall" "gateway_to_node_ports" {
  name        = "${var.name_prefix}-allow-gateway-node-ports"
  network     = google_compute_network.vpc.id
  direction   = "INGRESS"
  priority    = 1000
  description = "HAProxy on the gateway to the NodePorts it proxies (Grafana, Prometheus, Alertmanager, Kafka UI) on the workers."
  source_tags = [local.tag_gateway]
  target_tags = [local.tag_worker]

  allow {
    protocol = "tcp"
    ports    = var.gateway_node_ports
  }
}

resource "google_compute_firewall" "gateway_ssh" {
  name        = "${var.name_prefix}-allow-gateway-ssh"
  network     = google_compute_network.vpc.id
  direction   = "INGRESS"
  priority    = 1000
  description = "SSH from the bastion (the gateway) to the nodes: Ansible and operators use it as ProxyJump."
  source_tags = [local.tag_gateway]
  target_tags = [local.tag_node]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_firewall" "ssh_admin" {
  name          = "${var.name_prefix}-allow-ssh-admin"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 1000
  description   = "SSH to the gateway (the bastion) from the operator allowlist only."
  source_ranges = var.admin_cidrs
  target_tags   = [local.tag_gateway]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "public_web" {
  name          = "${var.name_prefix}-allow-public-web"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 1000
  description   = "HTTPS (Grafana) and the HTTP-to-HTTPS redirect on the gateway."
  source_ranges = var.public_cidrs
  target_tags   = [local.tag_gateway]

  allow {
    protocol = "tcp"
    ports    = ["80", "443"]
  }
}

resource "google_compute_firewall" "admin_ui" {
  name          = "${var.name_prefix}-allow-admin-ui"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 1000
  description   = "Admin UIs frontend on the gateway, operator allowlist only (otherwise use an SSH tunnel)."
  source_ranges = var.admin_cidrs
  target_tags   = [local.tag_gateway]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.admin_ui_port)]
  }
}

resource "google_compute_firewall" "api_health_checks" {
  name          = "${var.name_prefix}-allow-api-health-checks"
  network       = google_compute_network.vpc.id
  direction     = "INGRESS"
  priority      = 1000
  description   = "Google health checkers probing the API servers behind the internal load balancer."
  source_ranges = local.google_health_check_ranges
  target_tags   = [local.tag_control_plane]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.api_server_port)]
  }
}

# ------------------------------------------------------------------------------------ service accounts

resource "google_service_account" "nodes" {
  account_id   = "${var.name_prefix}-k8s-nodes"
  display_name = "market pipeline Kubernetes nodes (logs and metrics only)"
}

resource "google_project_iam_member" "nodes" {
  for_each = local.node_roles
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_service_account" "gateway" {
  account_id   = "${var.name_prefix}-gateway"
  display_name = "market pipeline HAProxy gateway (logs and metrics only)"
}

resource "google_project_iam_member" "gateway" {
  for_each = local.gateway_roles
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.gateway.email}"
}

# --------------------------------------------------------------------------------------------- compute

resource "google_compute_instance" "control_plane" {
  count                     = var.control_plane_count
  name                      = format("%s-cp-%d", var.name_prefix, count.index)
  zone                      = local.control_plane_zones[count.index]
  machine_type              = var.control_plane_machine_type
  tags                      = [local.tag_node, local.tag_control_plane]
  allow_stopping_for_update = true
  metadata                  = local.instance_metadata
  labels                    = { role = "control-plane" }

  boot_disk {
    initialize_params {
      image = var.image
      size  = var.control_plane_disk_gb
      type  = var.disk_type
    }
  }

  # No access_config block: the VM gets no external address.
  network_interface {
    subnetwork = google_compute_subnetwork.nodes.id
  }

  service_account {
    email = google_service_account.nodes.email
    # Access is limited by the service account's IAM roles, as Google recommends, not by legacy scopes.
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }
}

resource "google_compute_instance" "worker" {
  count                     = var.worker_count
  name                      = format("%s-worker-%d", var.name_prefix, count.index)
  zone                      = local.worker_zones[count.index]
  machine_type              = var.worker_machine_type
  tags                      = [local.tag_node, local.tag_worker]
  allow_stopping_for_update = true
  metadata                  = local.instance_metadata
  labels                    = { role = "worker" }

  boot_disk {
    initialize_params {
      image = var.image
      size  = var.worker_disk_gb
      type  = var.disk_type
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.nodes.id
  }

  service_account {
    email  = google_service_account.nodes.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }
}

resource "google_compute_address" "gateway" {
  name         = "${var.name_prefix}-gateway"
  region       = var.region
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
}

resource "google_compute_instance" "gateway" {
  name                      = "${var.name_prefix}-gateway"
  zone                      = local.gateway_zone
  machine_type              = var.gateway_machine_type
  tags                      = [local.tag_gateway]
  allow_stopping_for_update = true
  metadata                  = local.instance_metadata
  labels                    = { role = "gateway" }

  boot_disk {
    initialize_params {
      image = var.image
      size  = var.gateway_disk_gb
      type  = var.disk_type
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.nodes.id

    # The only external address of the deployment.
    access_config {
      nat_ip       = google_compute_address.gateway.address
      network_tier = "PREMIUM"
    }
  }

  service_account {
    email  = google_service_account.gateway.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }
}

# -------------------------------------------------------------- control-plane endpoint (internal TCP LB)
# The seeds pointed kubeadm's controlPlaneEndpoint at HAProxy on the single gateway VM, so losing that VM
# made the whole cluster unmanageable and stopped kubelets from renewing leases. A regional internal
# passthrough load balancer is managed by Google, spans the zones, and health-checks every API server.

resource "google_compute_instance_group" "control_plane" {
  for_each  = toset(distinct(local.control_plane_zones))
  name      = "${var.name_prefix}-cp-${each.key}"
  zone      = each.key
  network   = google_compute_network.vpc.id
  instances = [for vm in google_compute_instance.control_plane : vm.self_link if vm.zone == each.key]
}

resource "google_compute_region_health_check" "api_server" {
  name                = "${var.name_prefix}-api-server"
  region              = var.region
  check_interval_sec  = 5
  timeout_sec         = 3
  healthy_threshold   = 2
  unhealthy_threshold = 3

  # /readyz is readable without credentials (system:public-info-viewer) and turns unhealthy while the
  # API server cannot reach etcd, unlike a bare TCP check.
  https_health_check {
    port         = var.api_server_port
    request_path = "/readyz"
  }
}

resource "google_compute_region_backend_service" "api_server" {
  name                  = "${var.name_prefix}-api-server"
  region                = var.region
  protocol              = "TCP"
  load_balancing_scheme = "INTERNAL"
  health_checks         = [google_compute_region_health_check.api_server.id]

  dynamic "backend" {
    for_each = google_compute_instance_group.control_plane
    content {
      group          = backend.value.id
      balancing_mode = "CONNECTION"
    }
  }
}

resource "google_compute_address" "api_server" {
  name         = "${var.name_prefix}-api-server"
  region       = var.region
  subnetwork   = google_compute_subnetwork.nodes.id
  address_type = "INTERNAL"
}

resource "google_compute_forwarding_rule" "api_server" {
  name                  = "${var.name_prefix}-api-server"
  region                = var.region
  load_balancing_scheme = "INTERNAL"
  backend_service       = google_compute_region_backend_service.api_server.id
  ip_protocol           = "TCP"
  ip_address            = google_compute_address.api_server.address
  ports                 = [tostring(var.api_server_port)]
  network               = google_compute_network.vpc.id
  subnetwork            = google_compute_subnetwork.nodes.id
}
