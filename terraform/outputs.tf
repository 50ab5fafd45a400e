output "gateway_public_ip" {
  description = "The deployment's only external address: Grafana at https://<this>/, SSH bastion, admin UIs port."
  value       = google_compute_address.gateway.address
}

output "api_server_endpoint" {
  description = "Control-plane endpoint (internal load balancer) used as kubeadm controlPlaneEndpoint."
  value       = "${google_compute_address.api_server.address}:${var.api_server_port}"
}

output "control_plane_private_ips" {
  description = "Private addresses of the control-plane VMs, by name."
  value       = { for vm in google_compute_instance.control_plane : vm.name => vm.network_interface[0].network_ip }
}

output "worker_private_ips" {
  description = "Private addresses of the worker VMs, by name."
  value       = { for vm in google_compute_instance.worker : vm.name => vm.network_interface[0].network_ip }
}

output "ansible_inventory" {
  description = "Ansible YAML inventory; deploy.sh writes it to ansible/inventory/generated.yml (git-ignored)."
  value = yamlencode({
    all = {
      vars = {
        ansible_user          = var.ssh_user
        gcp_project_id        = var.project_id
        gateway_public_ip     = google_compute_address.gateway.address
        k8s_api_endpoint_ip   = google_compute_address.api_server.address
        k8s_api_server_port   = var.api_server_port
        node_subnet_cidr      = var.subnet_cidr
        gateway_admin_cidrs   = var.admin_cidrs
        gateway_admin_port    = var.admin_ui_port
        worker_private_ips    = [for vm in google_compute_instance.worker : vm.network_interface[0].network_ip]
        control_plane_hosts   = [for vm in google_compute_instance.control_plane : vm.name]
        terraform_name_prefix = var.name_prefix
      }
      children = {
        gateway = {
          hosts = {
            (google_compute_instance.gateway.name) = {
              ansible_host = google_compute_address.gateway.address
              private_ip   = google_compute_instance.gateway.network_interface[0].network_ip
            }
          }
        }
        k8s_cluster = {
          # Nodes have no public address: Ansible reaches them through the gateway as an SSH bastion.
          vars = {
            ansible_ssh_common_args = "-o ProxyJump=${var.ssh_user}@${google_compute_address.gateway.address} -o StrictHostKeyChecking=accept-new"
          }
          children = {
            control_plane = {
              hosts = {
                for vm in google_compute_instance.control_plane : vm.name => {
                  ansible_host = vm.network_interface[0].network_ip
                  private_ip   = vm.network_interface[0].network_ip
                  zone         = vm.zone
                }
              }
            }
            workers = {
              hosts = {
                for vm in google_compute_instance.worker : vm.name => {
                  ansible_host = vm.network_interface[0].network_ip
                  private_ip   = vm.network_interface[0].network_ip
                  zone         = vm.zone
                }
              }
            }
          }
        }
      }
    }
  })
}
